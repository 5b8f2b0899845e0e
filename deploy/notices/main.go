// Command notices writes THIRD_PARTY_NOTICES.md: every module compiled into
// the keystage binary, its licence as its own LICENSE file names it, and
// that file's full text, as the MIT and BSD licences ask of a binary
// distribution and the MPL-2.0 asks of its covered files (where their
// source is: the module path and version). Run it from the repository's
// root after changing go.mod:
//
//	go run ./deploy/notices > THIRD_PARTY_NOTICES.md
//
// deploy's TestThirdPartyNotices fails while the file is out of date.
package main

import (
	"fmt"
	"os"

	"keystage.dev/keystage/deploy/notices/modlicense"
)

func main() {
	out, err := modlicense.Notices("keystage.dev/keystage/cmd/keystage")
	if err != nil {
		fmt.Fprintln(os.Stderr, "notices:", err)
		os.Exit(1)
	}
	os.Stdout.Write(out)
}
