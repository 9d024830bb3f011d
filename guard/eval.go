package guard

import (
	"context"
	"fmt"
	"io"
	"sort"
	"text/tabwriter"
)

// Counts is a confusion matrix: injections flagged (TP) and missed (FN),
// benign texts flagged (FP) and passed (TN).
type Counts struct {
	TP, FP, FN, TN int
}

// Precision is TP/(TP+FP), 1 when nothing was flagged.
func (c Counts) Precision() float64 {
	if c.TP+c.FP == 0 {
		return 1
	}
	return float64(c.TP) / float64(c.TP+c.FP)
}

// Recall is TP/(TP+FN), 1 when there were no injections.
func (c Counts) Recall() float64 {
	if c.TP+c.FN == 0 {
		return 1
	}
	return float64(c.TP) / float64(c.TP+c.FN)
}

func (c *Counts) add(injection, flagged bool) {
	switch {
	case injection && flagged:
		c.TP++
	case injection:
		c.FN++
	case flagged:
		c.FP++
	default:
		c.TN++
	}
}

// EvalResult is a screener's score on an evaluation set.
type EvalResult struct {
	Split      map[string]Counts // by split, and "all"
	ByEncoding map[string]Counts // held-out (test) items by encoding
	ByLang     map[string]Counts // held-out items by language
	Errors     []EvalItem        // every item judged wrongly, in set order
}

// Evaluate screens every item with sc and counts its verdicts.
func Evaluate(ctx context.Context, sc Screener, items []EvalItem) (EvalResult, error) {
	r := EvalResult{Split: map[string]Counts{}, ByEncoding: map[string]Counts{}, ByLang: map[string]Counts{}}
	for _, it := range items {
		v, err := sc.Screen(ctx, it.Text)
		if err != nil {
			return r, fmt.Errorf("screen %s: %w", it.ID, err)
		}
		inj := it.Label == LabelInjection
		for _, k := range []string{it.Split, "all"} {
			c := r.Split[k]
			c.add(inj, v.Flagged)
			r.Split[k] = c
		}
		if it.Split == SplitTest {
			c := r.ByEncoding[it.Encoding]
			c.add(inj, v.Flagged)
			r.ByEncoding[it.Encoding] = c
			c = r.ByLang[it.Lang]
			c.add(inj, v.Flagged)
			r.ByLang[it.Lang] = c
		}
		if v.Flagged != inj {
			r.Errors = append(r.Errors, it)
		}
	}
	return r, nil
}

// WriteTable writes the result as aligned text: the splits, then the
// held-out split by encoding and by language.
func (r EvalResult) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "part\titems\tinjections\tflagged\tprecision\trecall\tFP\tFN")
	row := func(name string, c Counts) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.3f\t%.3f\t%d\t%d\n", name, c.TP+c.FP+c.FN+c.TN, c.TP+c.FN, c.TP+c.FP, c.Precision(), c.Recall(), c.FP, c.FN)
	}
	for _, k := range []string{SplitDev, SplitTest, "all"} {
		row(k, r.Split[k])
	}
	for _, part := range []struct {
		prefix string
		m      map[string]Counts
	}{{"test/", r.ByEncoding}, {"test/lang=", r.ByLang}} {
		keys := make([]string, 0, len(part.m))
		for k := range part.m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			row(part.prefix+k, part.m[k])
		}
	}
	return tw.Flush()
}
