package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/term"
)

// progress shows how far a long job has got: a bar with counts and rate
// redrawn in place on a terminal, a plain line at each tenth otherwise (a
// log file or a pipe must not fill with carriage returns).
type progress struct {
	w      io.Writer
	tty    bool
	stage  string
	start  time.Time
	last   time.Time
	tenth  int
	active bool
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty = true
	}
	return p
}

// update is lifecycle.Engine.Progress: total 0 means not known.
func (p *progress) update(stage string, done, total int) {
	now := time.Now()
	if stage != p.stage {
		p.finish()
		p.stage, p.start, p.tenth, p.active = stage, now, -1, true
	}
	rate := 0.0
	if el := now.Sub(p.start).Seconds(); el > 0 {
		rate = float64(done) / el
	}
	if p.tty {
		if now.Sub(p.last) < 100*time.Millisecond && done != total {
			return
		}
		p.last = now
		if total > 0 {
			const width = 30
			n := done * width / total
			bar := make([]byte, width)
			for i := range bar {
				bar[i] = ' '
				if i < n {
					bar[i] = '='
				}
			}
			fmt.Fprintf(p.w, "\r%-22s [%s] %d/%d %.0f/s ", stage, bar, done, total, rate)
		} else {
			fmt.Fprintf(p.w, "\r%-22s %d %.0f/s ", stage, done, rate)
		}
		return
	}
	if total <= 0 {
		return
	}
	if t := done * 10 / total; t > p.tenth {
		p.tenth = t
		fmt.Fprintf(p.w, "%s: %d of %d (%.0f a second)\n", stage, done, total, rate)
	}
}

// finish ends the current stage's line.
func (p *progress) finish() {
	if p.active && p.tty {
		fmt.Fprintln(p.w)
	}
	p.active = false
}
