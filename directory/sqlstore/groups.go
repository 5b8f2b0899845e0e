package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"keystage.dev/keystage/directory"
)

const groupCols = "id, name, kind, source, mis_id, description, gid_number"

func scanGroup(s scanner) (directory.Group, error) {
	var g directory.Group
	var kind, source string
	if err := s.Scan(&g.ID, &g.Name, &kind, &source, &g.MISID, &g.Description, &g.GIDNumber); err != nil {
		return g, mapErr(err)
	}
	g.Kind, g.Source = directory.GroupKind(kind), directory.Source(source)
	return g, nil
}

func (r reader) groups(ctx context.Context, query string, args ...any) ([]directory.Group, error) {
	rows, err := r.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []directory.Group
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

func (r reader) Group(ctx context.Context, id int64) (directory.Group, error) {
	g, err := scanGroup(r.q.QueryRowContext(ctx, "SELECT "+groupCols+" FROM groups WHERE id = $1", id))
	if err != nil {
		return g, fmt.Errorf("group id %d: %w", id, err)
	}
	return g, nil
}

func (r reader) GroupByName(ctx context.Context, name string) (directory.Group, error) {
	g, err := scanGroup(r.q.QueryRowContext(ctx, "SELECT "+groupCols+" FROM groups WHERE name = $1", name))
	if err != nil {
		return g, fmt.Errorf("group %s: %w", name, err)
	}
	return g, nil
}

func (r reader) GroupByGID(ctx context.Context, gid int64) (directory.Group, error) {
	g, err := scanGroup(r.q.QueryRowContext(ctx, "SELECT "+groupCols+" FROM groups WHERE gid_number = $1", gid))
	if err != nil {
		return g, fmt.Errorf("group gidNumber %d: %w", gid, err)
	}
	return g, nil
}

func (r reader) ListGroups(ctx context.Context, q directory.GroupQuery) ([]directory.Group, error) {
	var (
		conds []string
		args  []any
	)
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, fmt.Sprintf(cond, len(args)))
	}
	if q.Kind != "" {
		add("kind = $%d", string(q.Kind))
	}
	if q.Source != "" {
		add("source = $%d", string(q.Source))
	}
	if q.AfterID > 0 {
		add("id > $%d", q.AfterID)
	}
	query := "SELECT " + groupCols + " FROM groups"
	if len(conds) > 0 {
		query += " WHERE " + strings.Join(conds, " AND ")
	}
	query += " ORDER BY id"
	if q.Limit > 0 {
		query += fmt.Sprintf(" LIMIT %d", q.Limit)
	}
	gs, err := r.groups(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	return gs, nil
}

func (r reader) GroupsOf(ctx context.Context, accountID int64) ([]directory.Group, error) {
	gs, err := r.groups(ctx, `SELECT g.id, g.name, g.kind, g.source, g.mis_id, g.description, g.gid_number
		FROM groups g JOIN memberships m ON m.group_id = g.id WHERE m.account_id = $1 ORDER BY g.name`, accountID)
	if err != nil {
		return nil, fmt.Errorf("groups of account %d: %w", accountID, err)
	}
	return gs, nil
}

func (r reader) Members(ctx context.Context, groupID int64) ([]string, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT a.username FROM accounts a JOIN memberships m ON m.account_id = a.id
		WHERE m.group_id = $1 ORDER BY a.username`, groupID)
	if err != nil {
		return nil, fmt.Errorf("members of group %d: %w", groupID, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

func (t *tx) CreateGroup(ctx context.Context, g *directory.Group) error {
	if g.Source == "" {
		g.Source = directory.SourceManual
	}
	if err := g.Validate(); err != nil {
		return err
	}
	var err error
	if g.GIDNumber == 0 {
		if g.GIDNumber, err = t.nextCounter(ctx, "gid"); err != nil {
			return err
		}
	} else if err := t.bumpCounter(ctx, "gid", g.GIDNumber); err != nil {
		return err
	}
	if err := directory.ValidGroupGID(g.GIDNumber); err != nil {
		return fmt.Errorf("create group %s: %w: %w", g.Name, directory.ErrInvalid, err)
	}
	g.ID, err = t.insert(ctx, "INSERT INTO groups (name, kind, source, mis_id, description, gid_number) VALUES ($1,$2,$3,$4,$5,$6)",
		g.Name, string(g.Kind), string(g.Source), g.MISID, g.Description, g.GIDNumber)
	if err != nil {
		return fmt.Errorf("create group %s: %w", g.Name, err)
	}
	return nil
}

func (t *tx) UpdateGroup(ctx context.Context, id int64, fn func(*directory.Group) error) (directory.Group, error) {
	old, err := t.Group(ctx, id)
	if err != nil {
		return old, err
	}
	g := old
	if err := fn(&g); err != nil {
		return old, err
	}
	g.ID, g.GIDNumber = old.ID, old.GIDNumber
	if err := g.Validate(); err != nil {
		return old, err
	}
	if _, err := t.exec(ctx, "UPDATE groups SET name=$1, kind=$2, source=$3, mis_id=$4, description=$5 WHERE id=$6",
		g.Name, string(g.Kind), string(g.Source), g.MISID, g.Description, g.ID); err != nil {
		return old, fmt.Errorf("update group %s: %w", old.Name, mapErr(err))
	}
	return g, nil
}

func (t *tx) DeleteGroup(ctx context.Context, id int64) error {
	if _, err := t.exec(ctx, "DELETE FROM groups WHERE id = $1", id); err != nil {
		return fmt.Errorf("delete group %d: %w", id, err)
	}
	return nil
}

func (t *tx) AddMember(ctx context.Context, groupID, accountID int64) error {
	if _, err := t.exec(ctx, "INSERT INTO memberships (group_id, account_id) VALUES ($1, $2) ON CONFLICT DO NOTHING", groupID, accountID); err != nil {
		return fmt.Errorf("add member %d to group %d: %w", accountID, groupID, mapErr(err))
	}
	return nil
}

func (t *tx) RemoveMember(ctx context.Context, groupID, accountID int64) error {
	if _, err := t.exec(ctx, "DELETE FROM memberships WHERE group_id = $1 AND account_id = $2", groupID, accountID); err != nil {
		return fmt.Errorf("remove member %d from group %d: %w", accountID, groupID, err)
	}
	return nil
}
