package directory_test

import (
	"context"
	"slices"
	"testing"

	"keystage.dev/keystage/directory"
)

// toldStore is a Store whose Watch replays fixed notifications.
type toldStore struct {
	directory.Store
	told [][]string
}

func (s toldStore) Watch(ctx context.Context, fn func([]string)) error {
	for _, t := range s.told {
		fn(t)
	}
	return nil
}

func TestWatchChanges(t *testing.T) {
	all := directory.Changes{All: true}
	cases := []struct {
		name string
		told [][]string
		want []directory.Changes
	}{
		{"accounts", [][]string{{"account:jsmith", "group:7a", "account:apupil"}}, []directory.Changes{{Accounts: []string{"jsmith", "apupil"}}}},
		{"a NAS client", [][]string{{"nas:ap-1"}}, []directory.Changes{{NAS: true}}},
		{"nothing held in memory", [][]string{{"group:7a", "aup:staff"}}, nil},
		{"missed changes", [][]string{{"*"}}, []directory.Changes{all}},
		{"one call per commit", [][]string{{"account:a"}, {"account:b", "nas:x"}}, []directory.Changes{{Accounts: []string{"a"}}, {Accounts: []string{"b"}, NAS: true}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []directory.Changes
			ok, err := directory.WatchChanges(context.Background(), toldStore{told: c.told}, func(ch directory.Changes) {
				got = append(got, ch)
			})
			if !ok || err != nil {
				t.Fatalf("ok %v, err %v", ok, err)
			}
			same := func(a, b directory.Changes) bool {
				return a.NAS == b.NAS && a.All == b.All && slices.Equal(a.Accounts, b.Accounts)
			}
			if !slices.EqualFunc(got, c.want, same) {
				t.Errorf("told %+v, want %+v", got, c.want)
			}
		})
	}
	// A store that cannot tell is reported, not an error.
	type plain struct{ directory.Store }
	if ok, err := directory.WatchChanges(context.Background(), plain{}, func(directory.Changes) { t.Error("called") }); ok || err != nil {
		t.Errorf("a store without Watch: ok %v, err %v", ok, err)
	}
}
