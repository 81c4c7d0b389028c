// go-getrandom reads crypto/rand as a Go program does, for the getrandom end-to-end tests.
//
//	go-getrandom [READS]
//
// Prints "read <hex>" for each 32-byte read (every tenth read also takes 4096 bytes,
// "big <hex of its first 32>"), then the same from four goroutines at once ("par <hex>"),
// and last "done <reads>". Go 1.24's runtime serves crypto/rand from the vDSO's
// __kernel_getrandom when the kernel offers it (runtime/vgetrandom_linux.go), one state per
// M, mapped with the flags the vDSO asks for; otherwise every read is the getrandom syscall.
package main

import (
	"crypto/rand"
	"fmt"
	"os"
	"strconv"
	"sync"
)

func read(tag string, n int) string {
	buf := make([]byte, n)
	if _, err := rand.Read(buf); err != nil {
		fmt.Println("FAIL", err)
		os.Exit(1)
	}
	return fmt.Sprintf("%s %x", tag, buf[:32])
}

func main() {
	reads := 1000
	if len(os.Args) > 1 {
		reads, _ = strconv.Atoi(os.Args[1])
	}
	for i := 0; i < reads; i++ {
		fmt.Println(read("read", 32))
		if i%10 == 9 {
			fmt.Println(read("big", 4096))
		}
	}
	var wg sync.WaitGroup
	lines := make(chan string, 4*reads/10+4)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < reads/10+1; i++ {
				lines <- read("par", 32)
			}
		}()
	}
	wg.Wait()
	close(lines)
	for l := range lines {
		fmt.Println(l)
	}
	fmt.Println("done", reads)
}
