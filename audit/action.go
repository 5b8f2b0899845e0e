package audit

import "strings"

// Action is what an event did: "account.create", "suspension.add", …. The
// register's rebuild, the change feed and every reader of the trail match
// these exact strings, so an action once written is never renamed; a new
// kind of change gets a new constant here.
type Action string

// The actions Keystage records.
const (
	ActionAccountCreate    Action = "account.create"
	ActionAccountUpdate    Action = "account.update"
	ActionAccountDisable   Action = "account.disable"
	ActionAccountEnable    Action = "account.enable"
	ActionAccountUnlock    Action = "account.unlock"
	ActionAccountPurge     Action = "account.purge"
	ActionAccountLegalName Action = "account.legal_name"
	ActionGuestCreate      Action = "guest.create"

	ActionAUPPublish    Action = "aup.publish"
	ActionAUPSign       Action = "aup.sign"
	ActionAUPRecordBulk Action = "aup.record_bulk"
	ActionConsentAdd    Action = "consent.add"
	ActionConsentRemove Action = "consent.withdraw"
	// ActionConsentRefuse records a parent, carer or local authority
	// refusing consent: no consent from then on, as after a withdrawal.
	ActionConsentRefuse Action = "consent.refuse"

	ActionWiFiIssue  Action = "wifi.issue"
	ActionWiFiRevoke Action = "wifi.revoke"

	// ActionPasswordImport records a hash taken over from an old directory.
	ActionPasswordImport Action = "password.import"
	// ActionPasswordIssue and ActionPasswordReset record a first password
	// given, and one given again in place of the person's own.
	ActionPasswordIssue Action = "password.issue"
	ActionPasswordReset Action = "password.reset"

	ActionPasskeyAdd     Action = "passkey.add"
	ActionPasskeyRename  Action = "passkey.rename"
	ActionPasskeyRemove  Action = "passkey.remove"
	ActionEnrolmentIssue Action = "passkey.enrolment.issue"
	ActionEnrolmentUse   Action = "passkey.enrolment.use"
	ActionPasswordChange Action = "password.change"
	ActionPasswordRehash Action = "password.rehash"
	ActionSuspensionAdd  Action = "suspension.add"
	ActionSuspensionLift Action = "suspension.lift"
	// ActionLegalHoldSet and ActionLegalHoldLift record a legal hold on a
	// person's records (no purge while open) set and lifted.
	ActionLegalHoldSet     Action = "legal_hold.set"
	ActionLegalHoldLift    Action = "legal_hold.lift"
	ActionSigninLocked     Action = "signin.locked"
	ActionSigninFailures   Action = "signin.failures"
	ActionPortalSignin     Action = "portal.signin"
	ActionPortalView       Action = "portal.view"
	ActionPortalPlan       Action = "portal.plan"
	ActionExportRegister   Action = "export.register"
	ActionExportAudit      Action = "export.audit"
	ActionRADIUSDisconnect Action = "radius.disconnect"

	ActionGroupCreate       Action = "group.create"
	ActionGroupDelete       Action = "group.delete"
	ActionGroupAddMember    Action = "group.add_member"
	ActionGroupRemoveMember Action = "group.remove_member"

	ActionNASAdd     Action = "nas.add"
	ActionNASRemove  Action = "nas.remove"
	ActionKeysRotate Action = "keys.rotate"

	// A proposed mapping of a group to a VLAN and filter, its approval or
	// rejection by a senior role, and the configuration's mappings taken
	// into the directory at first start.
	ActionNetworkPropose Action = "network.propose"
	ActionNetworkApprove Action = "network.approve"
	ActionNetworkReject  Action = "network.reject"
	ActionNetworkImport  Action = "network.import"
	// An approval for one person (a personal device, an exception to the
	// network or the password policy) and its revocation.
	ActionApprovalAdd    Action = "approval.add"
	ActionApprovalRevoke Action = "approval.revoke"
	// The register of school devices, and a person's device forgotten so
	// that it no longer counts towards the limit.
	ActionSchoolDeviceAdd    Action = "device.register"
	ActionSchoolDeviceRemove Action = "device.unregister"
	ActionDeviceForget       Action = "device.forget"
	// ActionRetentionApply records a run of the retention schedule: what
	// kinds of record were pruned, how many. A prune of the trail itself
	// is recorded apart, signed (ActionPrune).
	ActionRetentionApply Action = "retention.apply"
)

// The actions of Active Directory as a downstream directory: one per
// change made in the domain ("ad.create", …), a password set there or
// refused by it, and the run itself ("ad.apply", JobApplied("ad")). A
// downstream directory's actions are its name and the change's kind (see
// downstream.Sync).
const (
	ActionADOUCreate       Action = "ad.ou_create"
	ActionADAdopt          Action = "ad.adopt"
	ActionADCreate         Action = "ad.create"
	ActionADUpdate         Action = "ad.update"
	ActionADMove           Action = "ad.move"
	ActionADEnable         Action = "ad.enable"
	ActionADDisable        Action = "ad.disable"
	ActionADDelete         Action = "ad.delete"
	ActionADGroupCreate    Action = "ad.group_create"
	ActionADGroupMembers   Action = "ad.group_members"
	ActionADGroupDelete    Action = "ad.group_delete"
	ActionADPassword       Action = "ad.password"
	ActionADPasswordFailed Action = "ad.password_failed"
)

// The actions of a trust's schools (docs/trusts.md).
const (
	// ActionAccountTransfer moves an account to another of the trust's
	// schools, keeping it; ActionAccountSchools changes the schools it is
	// also registered at (dual registration).
	ActionAccountTransfer Action = "account.transfer"
	ActionAccountSchools  Action = "account.schools"
	// ActionScopeRefused records a school's staff refused on a person
	// outside their school.
	ActionScopeRefused Action = "scope.refused"
)

// JobApplied is the action of applying a job's plan ("sync.apply",
// "leavers.apply").
func JobApplied(job string) Action { return Action(job + ".apply") }

// The kinds of target an event is about; a target is "kind:name" (see
// Target), or a bare word for the whole of something ("keyring",
// "register", "audit", "lockout").
const (
	KindAccount = "account"
	KindGroup   = "group"
	KindNAS     = "nas"
	KindAUP     = "aup"
	KindJob     = "job"
	// KindNetwork is a group's network mapping ("network:pupils"),
	// KindDevice a school device ("device:aa-bb-cc-dd-ee-ff").
	KindNetwork = "network"
	KindDevice  = "device"
)

// Target is the target of an event about the thing of a kind with a name:
// Target(KindGroup, "7A") is "group:7A".
func Target(kind, name string) string { return kind + ":" + name }

// AccountTarget is the target of an event about the account with a
// username; the register and subject access read a person's events by it.
func AccountTarget(username string) string { return Target(KindAccount, username) }

// TargetName is the name in a target of kind, and whether target is of
// that kind.
func TargetName(target, kind string) (string, bool) {
	name, ok := strings.CutPrefix(target, kind)
	if !ok || !strings.HasPrefix(name, ":") {
		return "", false
	}
	return name[1:], true
}

// UserActor is the actor of a change a person made themselves, signed in
// as username (the portal).
func UserActor(username string) string { return "user:" + username }
