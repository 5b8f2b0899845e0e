// Package portal is Keystage's web portal: server-rendered HTML that works
// with a keyboard, a screen reader and a phone. Everyone signs the AUP of
// their audience here, sees and renews their Wi-Fi credential, changes their
// password and manages passkeys; staff with a role (technician,
// safeguarding, auditor, by group membership) find people, suspend, record
// paper forms, issue guest access and download the register.
//
// It must not keep rules of its own: who may sign in is the gate's decision
// (directory.Directory.Authenticate with directory.ServicePortal), password
// rules are the passwords package's, and every change goes through the
// store in one transaction with its audit event. It never puts a secret in
// a URL, a log line or an audit event, and uses JavaScript only for WebAuthn
// and the live password checklist, which the server repeats on submit.
package portal
