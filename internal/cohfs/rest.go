package cohfs

import (
	"syscall"

	"github.com/cohesix/cohesix/internal/gatewayapi"
)

// Remote is the hive as the REST mount sees it (gatewayclient.HiveFS):
// a refusal is the errno Secure9P would carry.
type Remote interface {
	Stat(path string) (gatewayapi.Stat, error)
	List(path string) ([]string, error)
	ReadAt(path string, off int64, n int) ([]byte, error)
	Append(path string, off int64, records ...[]byte) (int, error)
}

// restMode is the FUSE mode of a REST stat: directories r-x, files r--,
// and w for the owner on files the caller may append to.
func restMode(st gatewayapi.Stat) uint32 {
	if st.Kind == gatewayapi.KindDir {
		return syscall.S_IFDIR | 0o555
	}
	if st.AppendOnly {
		return syscall.S_IFREG | 0o644
	}
	return syscall.S_IFREG | 0o444
}
