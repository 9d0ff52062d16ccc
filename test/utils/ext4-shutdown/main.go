// Command ext4-shutdown shuts down the ext4 filesystem mounted at its argument (EXT4_IOC_SHUTDOWN,
// after flushing what was written): from then on every write to it fails with EIO, as on a disk
// that went bad, until it is unmounted and mounted again. For test/e2e/queue-full.test.ts (as root).
package main

import (
	"fmt"
	"os"
	"syscall"
	"unsafe"
)

// extIocShutdown is _IOR('X', 125, __u32); flags 0: flush the filesystem, then shut it down.
const extIocShutdown = 0x8004587D

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: ext4-shutdown MOUNTPOINT")
		os.Exit(2)
	}
	dir, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var flags uint32
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, dir.Fd(), extIocShutdown, uintptr(unsafe.Pointer(&flags))); errno != 0 {
		fmt.Fprintln(os.Stderr, "ext4-shutdown:", errno)
		os.Exit(1)
	}
}
