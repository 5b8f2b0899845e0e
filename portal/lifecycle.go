package portal

import (
	"context"
	"fmt"

	"keystage.dev/keystage/lifecycle"
)

// JobsLifecycle is the Lifecycle of lifecycle's jobs: a plan is kept by
// the jobs until the technician confirms it or it is replaced.
func JobsLifecycle(j *lifecycle.Jobs) Lifecycle { return jobsLifecycle{j} }

type jobsLifecycle struct{ jobs *lifecycle.Jobs }

// planLines bounds the lines a plan shows in the browser.
const planLines = 500

func (l jobsLifecycle) Plan(ctx context.Context, job string) (Plan, error) {
	p, err := l.jobs.Plan(ctx, job, false)
	if err != nil {
		return Plan{}, err
	}
	return l.show(job, p), nil
}

// PlanSchool plans one school's sync (see schoolLifecycle).
func (l jobsLifecycle) PlanSchool(ctx context.Context, school string) (Plan, error) {
	p, err := l.jobs.PlanSchool(ctx, school, false)
	if err != nil {
		return Plan{}, err
	}
	return l.show("sync", p), nil
}

// show keeps p and makes what the browser shows of it.
func (l jobsLifecycle) show(job string, p *lifecycle.Plan) Plan {
	out := Plan{ID: l.jobs.Keep(p), Job: job, Source: p.Source, MadeAt: p.MadeAt, Summary: planCounts(p)}
	// First, as on the command line: what each grade became, and the
	// year groups changing as the school year turns.
	for _, y := range p.Years {
		out.Lines = append(out.Lines, PlanLine{Action: "grade", Detail: y.String()})
	}
	for _, c := range p.Cohorts {
		out.Lines = append(out.Lines, PlanLine{Action: "cohort", Detail: "expected cohort change: " + c.String()})
	}
	if p.Blocked != "" {
		out.Lines = append(out.Lines, PlanLine{Action: "refused", Detail: "Refused as a mass change: " + p.Blocked +
			" (the portal cannot allow a mass change: a technician runs keystage " + job + " --allow-mass-change)"})
	}
	lines := p.Lines()
	for i, line := range lines {
		if i == planLines {
			out.Lines = append(out.Lines, PlanLine{Action: "…", Detail: fmt.Sprintf("%d more: see keystage %s for the whole plan", len(lines)-i, job)})
			break
		}
		out.Lines = append(out.Lines, PlanLine{Action: line.Action, Username: line.Username, Detail: line.Detail})
	}
	return out
}

// Apply applies exactly the plan shown, once.
func (l jobsLifecycle) Apply(ctx context.Context, actor, planID string) (Applied, error) {
	p, run, err := l.jobs.ApplyKept(ctx, actor, planID)
	if err != nil {
		return Applied{}, err
	}
	return Applied{Run: run, Summary: planCounts(p)}, nil
}

// planCounts is a plan's summary as the portal shows it.
func planCounts(p *lifecycle.Plan) []Count {
	var out []Count
	for _, c := range p.Summary() {
		out = append(out, Count{What: c.What, N: c.N})
	}
	return out
}
