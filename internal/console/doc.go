// Package console is the OS-free console grammar shared by the root task and
// every host tool: verbs and ACK labels, line parsing with the manifest's field
// limits, ACK/ERR/END rendering, the serial line discipline, the TCP length
// framing, the AUTH hello check and the cat summary rules of spec/console.md.
//
// Nothing here touches a socket, a file, a clock or the queen: limits come in
// as a [Limits] value (normally [ManifestLimits]) and callers own all I/O. A
// dependency test keeps os, net, syscall and time out of the import graph.
package console
