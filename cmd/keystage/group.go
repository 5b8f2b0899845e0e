package main

import (
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"keystage.dev/keystage/directory"
)

func cmdGroup(e *env, args []string) error {
	return dispatch(e, "group", "group add NAME | list | show NAME | remove NAME | members add|remove NAME USER…", args,
		sub{"add", groupAdd},
		sub{"list", groupList},
		sub{"show", groupShow},
		sub{"remove", groupRemove},
		sub{"members", groupMembers})
}

// keptBy says who changes a group: the MIS sync, or people with these
// commands.
func keptBy(g directory.Group) string {
	if directory.IsManagedByMIS(g) {
		return "MIS"
	}
	return "by hand"
}

// groupError says what to do about a refused group change.
func groupError(name string, err error) error {
	switch {
	case errors.Is(err, directory.ErrManagedByMIS):
		return fmt.Errorf("group %s is kept by the MIS sync, which would undo a change made here: change it in the MIS; nothing was changed", name)
	case errors.Is(err, directory.ErrConflict):
		return fmt.Errorf("group %s already exists (keystage group show %s)", name, name)
	case errors.Is(err, directory.ErrGroupNotEmpty):
		return fmt.Errorf("%w: take the members out first (keystage group members remove %s …), or remove it with them with --force; nothing was changed", err, name)
	case errors.Is(err, directory.ErrNotFound):
		return fmt.Errorf("%w: check the name with keystage group list or keystage account list; nothing was changed", err)
	}
	return err
}

func groupAdd(e *env, args []string) error {
	fs := e.newFlags("group add", "NAME [--description TEXT]")
	desc := fs.String("description", "", "what the group is for")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one group name")
	}
	if err := directory.ValidUsername(pos[0]); err != nil {
		return usagef("group name: %v", err)
	}
	s, err := e.openStore(false)
	if err != nil {
		return err
	}
	defer s.Close()
	g, err := e.directory(s).CreateGroup(e.ctx, e.actor(), directory.Group{Name: pos[0], Description: *desc})
	if err != nil {
		return groupError(pos[0], err)
	}
	fmt.Fprintf(e.stdout, "created group %s, gidNumber %d; add people with keystage group members add %s USER…\n", g.Name, g.GIDNumber, g.Name)
	return nil
}

func groupList(e *env, args []string) error {
	fs := e.newFlags("group list", "[--mis | --by-hand]")
	mis := fs.Bool("mis", false, "only the groups the MIS sync keeps")
	manual := fs.Bool("by-hand", false, "only the groups kept by hand")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	q := directory.GroupQuery{Limit: 1000}
	switch {
	case *mis && *manual:
		return usagef("--mis and --by-hand together list nothing: give one")
	case *mis:
		q.Source = directory.SourceMIS
	case *manual:
		q.Source = directory.SourceManual
	}
	s, err := e.openStore(true)
	if err != nil {
		return err
	}
	defer s.Close()
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tKIND\tKEPT\tGID\tDESCRIPTION")
	for {
		page, err := s.ListGroups(e.ctx, q)
		if err != nil {
			return err
		}
		for _, g := range page {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", g.Name, g.Kind, keptBy(g), g.GIDNumber, g.Description)
		}
		if len(page) < q.Limit {
			break
		}
		q.AfterID = page[len(page)-1].ID
	}
	return tw.Flush()
}

func groupShow(e *env, args []string) error {
	fs := e.newFlags("group show", "NAME")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one group name")
	}
	s, err := e.openStore(true)
	if err != nil {
		return err
	}
	defer s.Close()
	g, err := s.GroupByName(e.ctx, pos[0])
	if errors.Is(err, directory.ErrNotFound) {
		return fmt.Errorf("no group %s: keystage group list shows them, keystage group add makes one", pos[0])
	}
	if err != nil {
		return err
	}
	members, err := s.Members(e.ctx, g.ID)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s:\t%s\n", k, v) }
	row("name", g.Name)
	row("kind", string(g.Kind))
	row("kept", keptBy(g))
	row("gidNumber", fmt.Sprint(g.GIDNumber))
	if g.Description != "" {
		row("description", g.Description)
	}
	row("members", fmt.Sprintf("%d", len(members)))
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, m := range members {
		fmt.Fprintf(e.stdout, "  %s\n", m)
	}
	return nil
}

func groupRemove(e *env, args []string) error {
	fs := e.newFlags("group remove", "NAME [--force]")
	force := fs.Bool("force", false, "remove it even though it has members (they stay; only the group goes)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one group name")
	}
	s, err := e.openStore(false)
	if err != nil {
		return err
	}
	defer s.Close()
	g, members, err := e.directory(s).DeleteGroup(e.ctx, e.actor(), pos[0], *force)
	if err != nil {
		return groupError(pos[0], err)
	}
	fmt.Fprintf(e.stdout, "removed group %s (%d member(s) were in it)\n", g.Name, len(members))
	return nil
}

func groupMembers(e *env, args []string) error {
	return dispatch(e, "group members", "group members add|remove NAME USER…", args,
		sub{"add", func(e *env, args []string) error { return groupChangeMembers(e, args, true) }},
		sub{"remove", func(e *env, args []string) error { return groupChangeMembers(e, args, false) }})
}

func groupChangeMembers(e *env, args []string, add bool) error {
	verb := map[bool]string{true: "add", false: "remove"}[add]
	fs := e.newFlags("group members "+verb, "NAME USER…")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 2 {
		return usagef("want a group name and at least one username")
	}
	s, err := e.openStore(false)
	if err != nil {
		return err
	}
	defer s.Close()
	d := e.directory(s)
	change := d.RemoveMembers
	if add {
		change = d.AddMembers
	}
	changed, err := change(e.ctx, e.actor(), pos[0], pos[1:])
	if err != nil {
		return groupError(pos[0], err)
	}
	done := map[bool]string{true: "added to", false: "removed from"}[add]
	if len(changed) == 0 {
		fmt.Fprintf(e.stdout, "nothing to do: %s already as asked in group %s\n", strings.Join(pos[1:], ", "), pos[0])
		return nil
	}
	fmt.Fprintf(e.stdout, "%s %s group %s\n", strings.Join(changed, ", "), done, pos[0])
	return nil
}
