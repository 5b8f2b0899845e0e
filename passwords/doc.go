// Package passwords holds everything Keystage knows about secrets that is
// pure computation: the password policy rules of the school's acceptable-use
// policy and their verdicts in plain words, password hashing (argon2id, and
// verification of hashes imported from older directories), generation of
// Wi-Fi credentials with their NT hash for MS-CHAPv2, and AES-256-GCM sealing
// of secrets at rest under a keyring with key ids for rotation.
//
// It must stay pure: no files, network, SQL, flags, environment variables,
// clock or logging, and no package-level mutable state. Callers read key
// files and configuration and hand the bytes and typed values in. Nothing
// here returns or formats a secret in an error or a message.
package passwords
