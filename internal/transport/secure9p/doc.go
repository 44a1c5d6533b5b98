// Package secure9p serves the namespace behind the door (internal/gate) over standard 9P2000.L
// (github.com/hugelgupf/p9), so the stock Linux kernel client and any
// 9P2000.L client can mount it (DECISIONS D1).
//
// Cohesix rules sit in a frame-level Policy between the socket and the 9P
// server: Tversion first and msize capped at the manifest's 8192, walks of
// at most 8 names with no "..", ".", "" or "/", at most 16 requests in
// flight, no use of a clunked fid, Tauth answered ENOENT, and no
// remove, rename, link, symlink, mknod, mkdir or create; setattr only as
// the size-only truncate shells send. Identity comes from the capability
// ticket carried in the attach aname (DECISIONS D3). Errors are Rlerror
// errnos mapped once, in Errno (DECISIONS D2). docs/SECURE9P.md is the
// operator's manual.
package secure9p
