// Command keystage is the one binary of Keystage: it only parses flags and
// hands over to the packages below.
package main

import "os"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
