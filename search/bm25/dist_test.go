package bm25

import (
	"fmt"
	"runtime"
	"sort"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sleuth-research/sleuth/corpus/zipf"
)

func tcpu() time.Duration {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts)
	return time.Duration(ts.Nano())
}

func TestDist(t *testing.T) {
	dir, err := benchIndex()
	if err != nil {
		t.Fatal(err)
	}
	ix, _ := Open(dir)
	qs := zipf.Queries(zipf.Config{Passages: benchPassages()}, 2000)
	runtime.LockOSThread()
	for _, q := range qs {
		ix.TopK(q, 10)
	}
	type row struct {
		d time.Duration
		q string
	}
	var rows []row
	var tot time.Duration
	for _, q := range qs {
		t0 := tcpu()
		ix.TopK(q, 10)
		d := tcpu() - t0
		tot += d
		rows = append(rows, row{d, q})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].d > rows[j].d })
	fmt.Printf("N %d: TopK cpu/query %v => %.0f q/s\n", ix.Len(), tot/time.Duration(len(qs)), float64(len(qs))/tot.Seconds())
	for _, r := range rows[:8] {
		fmt.Println("  ", r.d, r.q)
	}
	t0 := tcpu()
	for _, q := range qs[:500] {
		ix.TopKExhaustive(q, 10)
	}
	fmt.Printf("exhaustive cpu/query %v\n", (tcpu()-t0)/500)
}

func TestOne(t *testing.T) {
	dir, err := benchIndex()
	if err != nil {
		t.Fatal(err)
	}
	ix, _ := Open(dir)
	for _, q := range []string{"ka lo treumfe", "ne ru ka vo", "ru zebrila ka", "vogipi ba"} {
		s := ix.getSearcher()
		terms := ix.analyse(s, q)
		for _, tt := range terms {
			fmt.Printf("  df=%d idf=%.3f max=%.3f\n", tt.p.df, tt.idf, tt.max)
		}
		s.maxScore(ix.sc, terms, 10, 0)
		fmt.Printf("%s %+v\n", q, s.st)
	}
}

func TestChampRate(t *testing.T) {
	dir, err := benchIndex()
	if err != nil {
		t.Fatal(err)
	}
	ix, _ := Open(dir)
	qs := zipf.Queries(zipf.Config{Passages: benchPassages()}, 2000)
	runtime.LockOSThread()
	okN := 0
	s := ix.getSearcher()
	var tok, tfail, tms time.Duration
	for _, q := range qs {
		s.st = queryStats{}
		terms := ix.analyse(s, q)
		t0 := tcpu()
		_, ok, floor := s.champions(ix.sc, terms, 10, ix.Len())
		t1 := tcpu()
		if ok {
			if okN%200 == 0 {
				fmt.Printf("%v %+v %q\n", t1-t0, s.st, q)
			}
			okN++
			tok += t1 - t0
		} else {
			tfail += t1 - t0
			s.maxScore(ix.sc, terms, 10, floor)
			tms += tcpu() - t1
		}
	}
	fmt.Printf("champ ok %d/%d; champ cpu ok %v fail %v; fallback maxscore %v\n", okN, len(qs), tok, tfail, tms)
}
