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
		fmt.Fprintf(e.stdout, "configuration is valid; database %s\n", redactURL(cfg.DatabaseURL()))
		return nil
	}
	return usagef("unknown config subcommand %q: want example or check", args[0])
}
