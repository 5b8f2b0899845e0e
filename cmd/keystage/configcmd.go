package main

import "fmt"

func cmdConfig(e *env, args []string) error {
	if len(args) != 1 {
		return usagef("want: config example | config check")
	}
	switch args[0] {
	case "example":
		fmt.Fprint(e.stdout, exampleConfig())
		return nil
	case "check":
		cfg, err := e.config()
		if err != nil {
			return err
		}
		// Past the file itself: what keystage serve will need (see checkServe).
		p, notes := checkServe(e, cfg)
		for _, n := range notes {
			fmt.Fprintf(e.stdout, "note: %s\n", n)
		}
		if err := p.err(e.configPath); err != nil {
			return fmt.Errorf("%w\nkeystage serve would fail on these: fix them and run keystage config check again", err)
		}
		fmt.Fprintf(e.stdout, "configuration is valid, and what keystage serve needs is in place; database %s\n", redactURL(cfg.DatabaseURL()))
		return nil
	}
	return usagef("unknown config subcommand %q: want example or check", args[0])
}
