package main

import "fmt"

// keysApart is what every backup of the directory leaves out and must be
// kept beside it (apart from it, not in the same place): the key file and
// the audit signing key, one of each per trust, the same on every node.
func keysApart(cfg *Config) string {
	return fmt.Sprintf("The key file %s and the audit signing key %s are not in it: back them up apart from the database "+
		"(they are the same on every node), or the Wi-Fi credentials and NAS secrets cannot be opened and the audit trail's checkpoints cannot be signed on.",
		cfg.KeyFile(), cfg.SigningKeyFile())
}
