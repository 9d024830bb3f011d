package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/sleuth-research/sleuth/fetch"
)

func newFetchCmd() *cobra.Command {
	var (
		asJSON, allowLoopback, noRobots bool
		cacheDir, segBy                 string
		timeout                         time.Duration
		maxBytes                        int64
		segSize                         int
	)
	cmd := &cobra.Command{
		Use:   "fetch URL",
		Short: "Fetch a URL safely and print what an agent would read",
		Long: "fetch retrieves one untrusted URL through sleuth's safe fetcher (no loopback, private,\n" +
			"link-local or cloud-metadata addresses; robots.txt honoured; size, time and type limits)\n" +
			"and prints the page's title, visible main text and links. A refused URL exits non-zero\n" +
			"with the reason.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := fetch.New(fetch.Config{
				AllowLoopback: allowLoopback,
				IgnoreRobots:  noRobots,
				CacheDir:      cacheDir,
				Timeout:       timeout,
				MaxBytes:      maxBytes,
			})
			if err != nil {
				return err
			}
			defer c.Close()
			p, err := c.Fetch(cmd.Context(), args[0])
			if err != nil {
				return err // a *fetch.RefusedError reads "refused URL: address: reason"
			}
			var segs []fetch.Segment
			if segSize > 0 {
				if segBy != string(fetch.Chars) && segBy != string(fetch.Words) {
					return fmt.Errorf("--by %q: want chars or words", segBy)
				}
				segs = fetch.Segments(p.Text, segSize, fetch.Unit(segBy))
			}
			if asJSON {
				if segs != nil {
					return writeJSON(cmd.OutOrStdout(), struct {
						*fetch.Page
						Segments []fetch.Segment `json:"segments"`
					}{p, segs})
				}
				return writeJSON(cmd.OutOrStdout(), p)
			}
			return p.WriteText(cmd.OutOrStdout(), segs)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&asJSON, "json", false, "print the page as one JSON object")
	f.BoolVar(&allowLoopback, "allow-loopback", false, "allow 127.0.0.0/8 and ::1 (the simulated web, local tests)")
	f.BoolVar(&noRobots, "no-robots", false, "ignore robots.txt")
	f.StringVar(&cacheDir, "cache", "", "disk cache directory (none by default)")
	f.DurationVar(&timeout, "timeout", fetch.DefaultTimeout, "time limit for the whole fetch")
	f.Int64Var(&maxBytes, "max-bytes", fetch.DefaultMaxBytes, "body size limit; longer bodies are truncated")
	f.IntVar(&segSize, "segment", 0, "also split the text into segments of this size, as the browse tool reads it")
	f.StringVar(&segBy, "by", "chars", "segment size unit: chars or words")
	return cmd
}
