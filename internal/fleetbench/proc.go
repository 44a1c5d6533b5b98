package fleetbench

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of /proc/<pid>/stat's utime and stime: USER_HZ,
// 100 on every Linux architecture Go runs on.
const userHZ = 100

// readCPU is the CPU time (user + system) process pid has used.
func readCPU(pid int) (time.Duration, error) {
	if pid <= 0 {
		return 0, errors.New("no hive pid")
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces: fields start after its ")".
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad utime or stime", pid)
	}
	return time.Duration(ut+st) * time.Second / userHZ, nil
}

// readRSS is process pid's resident set in bytes (VmRSS).
func readRSS(pid int) (int64, error) {
	if pid <= 0 {
		return 0, errors.New("no hive pid")
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no VmRSS", pid)
}

// loadAvg is /proc/loadavg's three averages, "" when unreadable.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

// LoadAvg is /proc/loadavg's three averages now, "" when unreadable.
func LoadAvg() string { return loadAvg() }

// IsLocal reports whether host names this machine's loopback.
func IsLocal(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// FindListener returns the process listening on TCP port, found as the
// socket inode in /proc/net/tcp{,6} and the /proc/<pid>/fd link to it.
// Only processes this user may inspect are seen.
func FindListener(port int) (int, error) {
	inodes := map[string]bool{}
	for _, tab := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(tab)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			// sl local rem st tx:rx tr:when retrnsmt uid timeout inode
			if len(f) < 10 || f[3] != "0A" { // 0A: LISTEN
				continue
			}
			_, hexPort, ok := strings.Cut(f[1], ":")
			p, err := strconv.ParseUint(hexPort, 16, 16)
			if ok && err == nil && int(p) == port && f[9] != "0" {
				inodes["socket:["+f[9]+"]"] = true
			}
		}
	}
	if len(inodes) == 0 {
		return 0, fmt.Errorf("no listener on port %d in /proc/net/tcp", port)
	}
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		pid, err := strconv.Atoi(filepath.Base(p))
		if err != nil {
			continue
		}
		fds, err := os.ReadDir(p + "/fd")
		if err != nil {
			continue
		}
		for _, fd := range fds {
			if l, err := os.Readlink(p + "/fd/" + fd.Name()); err == nil && inodes[l] {
				return pid, nil
			}
		}
	}
	return 0, fmt.Errorf("the listener on port %d belongs to a process this user cannot inspect", port)
}

// ServerCount is how many size-byte heartbeats worker id's telemetry
// ring has received in all (legacy-plaintext): the ring's end offset is
// the sum of every record ever appended, the hive's own heartbeats
// ({"tick":k,...} for k = 1..N, N read from the newest one) included.
// Call it with the load stopped.
func ServerCount(h Hive, id string, size int) (int, error) {
	window := uint64(4 * size)
	var last error
	for range 8 {
		end, err := h.TelemetrySize(id)
		if err != nil {
			return 0, err
		}
		off := end - min(end, window)
		tail, err := h.TelemetryRead(id, off)
		if err != nil { // the ring moved past off: a smaller window
			last, window = err, max(uint64(size), window/2)
			continue
		}
		n, err := countFromTail(tail, off, size)
		if errors.Is(err, errNoTick) && off > 0 {
			last, window = err, window*2
			continue
		}
		return n, err
	}
	return 0, last
}
