package main

import (
	"embed"
	"io/fs"
)

// dist is the page bundle `make ui` builds into web/dist (gitignored but
// for .keep, so a clean checkout builds without node and answers / with
// 503 until the bundle exists).
//
//go:embed all:web/dist
var dist embed.FS

func assets() fs.FS {
	sub, err := fs.Sub(dist, "web/dist")
	if err != nil {
		panic(err) // the embed pattern guarantees the directory
	}
	return sub
}
