package directory

import "context"

// Scoped is s as seen by a person who acts for one school: every read of
// an account outside scope fails with ErrOutOfScope, and lists hold only
// the accounts within it, inside transactions too, so that every service
// of a Directory made on it refuses such a person on another school's
// people without a check of its own. refused, when not nil, is told of
// each account refused (the caller records the refusals after the
// transaction, which a refusal rolls back). A trust-wide scope is s itself.
func Scoped(s Store, scope SchoolScope, refused func(Account)) Store {
	if scope.Trust() {
		return s
	}
	return scopedStore{Store: s, g: scopeGuard{scope: scope, refused: refused}}
}

type scopeGuard struct {
	scope   SchoolScope
	refused func(Account)
}

func (g scopeGuard) one(a Account, err error) (Account, error) {
	if err != nil {
		return a, err
	}
	if err := g.scope.Check(a); err != nil {
		if g.refused != nil {
			g.refused(a)
		}
		return Account{}, err
	}
	return a, nil
}

func (g scopeGuard) many(as []Account, err error) ([]Account, error) {
	if err != nil {
		return nil, err
	}
	out := as[:0]
	for _, a := range as {
		if g.scope.Covers(a) {
			out = append(out, a)
		}
	}
	return out, nil
}

type scopedStore struct {
	Store
	g scopeGuard
}

func (s scopedStore) Account(ctx context.Context, id int64) (Account, error) {
	return s.g.one(s.Store.Account(ctx, id))
}
func (s scopedStore) AccountByUsername(ctx context.Context, name string) (Account, error) {
	return s.g.one(s.Store.AccountByUsername(ctx, name))
}
func (s scopedStore) AccountByMISID(ctx context.Context, id string) (Account, error) {
	return s.g.one(s.Store.AccountByMISID(ctx, id))
}
func (s scopedStore) AccountByUID(ctx context.Context, uid int64) (Account, error) {
	return s.g.one(s.Store.AccountByUID(ctx, uid))
}
func (s scopedStore) AccountByUUID(ctx context.Context, uuid string) (Account, error) {
	return s.g.one(s.Store.AccountByUUID(ctx, uuid))
}
func (s scopedStore) AccountsByEmail(ctx context.Context, email string) ([]Account, error) {
	return s.g.many(s.Store.AccountsByEmail(ctx, email))
}
func (s scopedStore) ListAccounts(ctx context.Context, q AccountQuery) ([]Account, error) {
	return s.Store.ListAccounts(ctx, s.g.scope.Query(q))
}
func (s scopedStore) CountAccounts(ctx context.Context, q AccountQuery) (int, error) {
	return s.Store.CountAccounts(ctx, s.g.scope.Query(q))
}
func (s scopedStore) Update(ctx context.Context, fn func(ctx context.Context, tx Tx) error) error {
	return s.Store.Update(ctx, func(ctx context.Context, tx Tx) error {
		return fn(ctx, scopedTx{Tx: tx, g: s.g})
	})
}

type scopedTx struct {
	Tx
	g scopeGuard
}

func (t scopedTx) Account(ctx context.Context, id int64) (Account, error) {
	return t.g.one(t.Tx.Account(ctx, id))
}
func (t scopedTx) AccountByUsername(ctx context.Context, name string) (Account, error) {
	return t.g.one(t.Tx.AccountByUsername(ctx, name))
}
func (t scopedTx) AccountByMISID(ctx context.Context, id string) (Account, error) {
	return t.g.one(t.Tx.AccountByMISID(ctx, id))
}
func (t scopedTx) AccountByUID(ctx context.Context, uid int64) (Account, error) {
	return t.g.one(t.Tx.AccountByUID(ctx, uid))
}
func (t scopedTx) AccountByUUID(ctx context.Context, uuid string) (Account, error) {
	return t.g.one(t.Tx.AccountByUUID(ctx, uuid))
}
func (t scopedTx) AccountsByEmail(ctx context.Context, email string) ([]Account, error) {
	return t.g.many(t.Tx.AccountsByEmail(ctx, email))
}
func (t scopedTx) ListAccounts(ctx context.Context, q AccountQuery) ([]Account, error) {
	return t.Tx.ListAccounts(ctx, t.g.scope.Query(q))
}
func (t scopedTx) CountAccounts(ctx context.Context, q AccountQuery) (int, error) {
	return t.Tx.CountAccounts(ctx, t.g.scope.Query(q))
}

// UpdateAccount refuses an account outside the scope before fn sees it.
func (t scopedTx) UpdateAccount(ctx context.Context, id int64, fn func(*Account) error) (Account, error) {
	if _, err := t.Account(ctx, id); err != nil {
		return Account{}, err
	}
	return t.Tx.UpdateAccount(ctx, id, fn)
}

// CreateAccount makes accounts in the scope's school only.
func (t scopedTx) CreateAccount(ctx context.Context, a *Account) error {
	if _, err := t.g.one(*a, nil); err != nil {
		return err
	}
	return t.Tx.CreateAccount(ctx, a)
}

// The writes about one account refuse an account outside the scope, for
// the services that are handed an Account rather than read it.

func (t scopedTx) guard(ctx context.Context, accountID int64) error {
	_, err := t.Account(ctx, accountID)
	return err
}

func (t scopedTx) DeleteAccount(ctx context.Context, id int64) error {
	if err := t.guard(ctx, id); err != nil {
		return err
	}
	return t.Tx.DeleteAccount(ctx, id)
}
func (t scopedTx) AddMember(ctx context.Context, groupID, accountID int64) error {
	if err := t.guard(ctx, accountID); err != nil {
		return err
	}
	return t.Tx.AddMember(ctx, groupID, accountID)
}
func (t scopedTx) RemoveMember(ctx context.Context, groupID, accountID int64) error {
	if err := t.guard(ctx, accountID); err != nil {
		return err
	}
	return t.Tx.RemoveMember(ctx, groupID, accountID)
}
func (t scopedTx) AddCredential(ctx context.Context, c *Credential) error {
	if err := t.guard(ctx, c.AccountID); err != nil {
		return err
	}
	return t.Tx.AddCredential(ctx, c)
}
func (t scopedTx) AddSignature(ctx context.Context, s *Signature) error {
	if err := t.guard(ctx, s.AccountID); err != nil {
		return err
	}
	return t.Tx.AddSignature(ctx, s)
}
func (t scopedTx) AddConsent(ctx context.Context, c *Consent) error {
	if err := t.guard(ctx, c.AccountID); err != nil {
		return err
	}
	return t.Tx.AddConsent(ctx, c)
}
func (t scopedTx) AddSuspension(ctx context.Context, s *Suspension) error {
	if err := t.guard(ctx, s.AccountID); err != nil {
		return err
	}
	return t.Tx.AddSuspension(ctx, s)
}
