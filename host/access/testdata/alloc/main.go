// Command alloc is a test helper of host/access: it prints "ready", waits
// for a line on stdin (so the test can limit it first), then allocates and
// touches the number of bytes given as its argument and prints "ok".
package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
)

func main() {
	n, err := strconv.Atoi(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Println("ready")
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		os.Exit(3)
	}
	b := make([]byte, n)
	for i := 0; i < n; i += 4096 {
		b[i] = 1
	}
	fmt.Println("ok", len(b))
}
