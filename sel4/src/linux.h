/* Linux/arm64 ABI pieces the shim emulates for the Go runtime. */
#ifndef COH_LINUX_H
#define COH_LINUX_H
struct elf64_ehdr {
	unsigned char e_ident[16];
	unsigned short e_type, e_machine;
	unsigned int e_version;
	unsigned long e_entry, e_phoff, e_shoff;
	unsigned int e_flags;
	unsigned short e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx;
};
struct elf64_phdr {
	unsigned int p_type, p_flags;
	unsigned long p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align;
};
#define LINUX_AT_NULL 0
#define LINUX_AT_PHDR 3
#define LINUX_AT_PHENT 4
#define LINUX_AT_PHNUM 5
#define LINUX_AT_PAGESZ 6
#define LINUX_AT_HWCAP 16
#define LINUX_AT_RANDOM 25

enum {
	LINUX_SYS_EVENTFD2 = 19, LINUX_SYS_EPOLL_CREATE1 = 20, LINUX_SYS_EPOLL_CTL = 21,
	LINUX_SYS_EPOLL_PWAIT = 22, LINUX_SYS_FCNTL = 25, LINUX_SYS_IOCTL = 29,
	LINUX_SYS_OPENAT = 56, LINUX_SYS_CLOSE = 57, LINUX_SYS_PIPE2 = 59, LINUX_SYS_READ = 63,
	LINUX_SYS_WRITE = 64, LINUX_SYS_READLINKAT = 78, LINUX_SYS_FSTATAT = 79, LINUX_SYS_FSTAT = 80,
	LINUX_SYS_EXIT = 93, LINUX_SYS_EXIT_GROUP = 94, LINUX_SYS_FUTEX = 98,
	LINUX_SYS_NANOSLEEP = 101, LINUX_SYS_CLOCK_GETTIME = 113, LINUX_SYS_SCHED_GETAFFINITY = 123,
	LINUX_SYS_SCHED_YIELD = 124, LINUX_SYS_TGKILL = 131, LINUX_SYS_SIGALTSTACK = 132,
	LINUX_SYS_RT_SIGACTION = 134, LINUX_SYS_RT_SIGPROCMASK = 135, LINUX_SYS_RT_SIGRETURN = 139, LINUX_SYS_GETPID = 172,
	LINUX_SYS_GETTID = 178, LINUX_SYS_MUNMAP = 215, LINUX_SYS_CLONE = 220, LINUX_SYS_MMAP = 222,
	LINUX_SYS_MPROTECT = 226, LINUX_SYS_MADVISE = 233, LINUX_SYS_PRLIMIT64 = 261,
	LINUX_SYS_GETRANDOM = 278,
	LINUX_SYS_COH_IDLE = 0x43ff, /* shim-internal: the idle thread */
};
#define LINUX_EPERM 1
#define LINUX_ENOENT 2
#define LINUX_EBADF 9
#define LINUX_EAGAIN 11
#define LINUX_ENOMEM 12
#define LINUX_ENODEV 19
#define LINUX_EINVAL 22
#define LINUX_ENOTTY 25
#define LINUX_ENOSYS 38
#define LINUX_ETIMEDOUT 110
#define LINUX_MAP_FIXED 0x10
#define LINUX_MADV_DONTNEED 4
#define LINUX_FD_EPOLL 100
#define LINUX_FD_EVENTFD 101
#endif
