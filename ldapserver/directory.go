package ldapserver

import (
	"context"
	"time"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/passwords"
)

// Reader is the part of the directory's state that LDAP reads: accounts
// and groups, nothing else (a directory.Store is one).
type Reader interface {
	Account(ctx context.Context, id int64) (directory.Account, error)
	AccountByUsername(ctx context.Context, username string) (directory.Account, error)
	AccountByUID(ctx context.Context, uidNumber int64) (directory.Account, error)
	AccountByUUID(ctx context.Context, uuid string) (directory.Account, error)
	AccountsByEmail(ctx context.Context, email string) ([]directory.Account, error)
	ListAccounts(ctx context.Context, q directory.AccountQuery) ([]directory.Account, error)

	GroupByName(ctx context.Context, name string) (directory.Group, error)
	GroupByGID(ctx context.Context, gidNumber int64) (directory.Group, error)
	ListGroups(ctx context.Context, q directory.GroupQuery) ([]directory.Group, error)
	GroupsOf(ctx context.Context, accountID int64) ([]directory.Group, error)
	Members(ctx context.Context, groupID int64) ([]string, error)
}

// Directory is what LDAP asks of the directory service (a
// *directory.Directory is one): a bind, a password change (the only change
// LDAP makes), the gate's answer, the outcome of each request, and word of
// changes.
type Directory interface {
	Authenticate(ctx context.Context, username, password string, svc directory.Service, src directory.Origin) (directory.Account, error)
	ChangePassword(ctx context.Context, actor string, a directory.Account, newPassword string) ([]passwords.Violation, error)
	Gate() *directory.Gate
	Now() time.Time
	ObserveSince(start time.Time, svc directory.Service, op, result string, reason directory.Reason)
	WatchChanges(ctx context.Context, fn func(directory.Changes)) (ok bool, err error)
}
