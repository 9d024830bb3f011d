package retrieve

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sleuth-research/sleuth/search"
)

// Metrics are exposed in the Prometheus text format (version 0.0.4), written
// by hand: the set is small and fixed, and this keeps the client_golang
// module tree (and its global default registry) out of the sleuth binary.
// Every value lives in the Server, so two servers in one process never share
// counters.

// latencyBuckets are the upper bounds, in seconds, of the /retrieve latency
// histogram: 1 ms to 30 s, covering an in-memory index and a cold disk.
var latencyBuckets = [...]float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

type requestKey struct {
	path string // one of the served paths or "other", to bound cardinality
	code int
}

type metrics struct {
	start time.Time

	batch *search.Coalescer // nil without micro-batching

	inFlight atomic.Int64 // /retrieve requests being served
	queries  atomic.Int64 // queries answered with 200
	panics   atomic.Int64

	mu       sync.Mutex
	requests map[requestKey]uint64
	// recent holds the latest /retrieve latencies (a ring), for the p50
	// and p99 gauges: quantiles of what the server does now, not since it
	// started.
	recent  [1024]time.Duration
	nRecent int
	buckets [len(latencyBuckets)]uint64 // non-cumulative counts per bucket
	count   uint64
	sum     float64
}

func newMetrics(start time.Time) *metrics {
	return &metrics{start: start, requests: make(map[requestKey]uint64)}
}

// observe records one finished request; latency is recorded for /retrieve
// only, the one path whose cost matters.
func (m *metrics) observe(path string, code int, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests[requestKey{path, code}]++
	if path != pathRetrieve {
		return
	}
	m.recent[m.nRecent%len(m.recent)] = d
	m.nRecent++
	sec := d.Seconds()
	m.count++
	m.sum += sec
	for i, ub := range latencyBuckets {
		if sec <= ub {
			m.buckets[i]++
			break
		}
	}
}

// writeBatchStats renders the micro-batcher's queue and batch sizes.
func writeBatchStats(b *bytes.Buffer, st search.CoalesceStats) {
	b.WriteString("# HELP sleuth_retrieve_queue_depth Queries waiting to be batched.\n")
	b.WriteString("# TYPE sleuth_retrieve_queue_depth gauge\n")
	fmt.Fprintf(b, "sleuth_retrieve_queue_depth %d\n", st.QueueDepth)
	b.WriteString("# HELP sleuth_retrieve_overloaded_total Requests refused with 503 because the batch queue was full.\n")
	b.WriteString("# TYPE sleuth_retrieve_overloaded_total counter\n")
	fmt.Fprintf(b, "sleuth_retrieve_overloaded_total %d\n", st.Rejected)
	b.WriteString("# HELP sleuth_retrieve_batch_size Queries per batched search.\n")
	b.WriteString("# TYPE sleuth_retrieve_batch_size histogram\n")
	var cum int64
	for i, ub := range search.BatchSizeBuckets {
		cum += st.BatchSizes[i]
		if i == len(search.BatchSizeBuckets)-1 {
			break // the last bucket also holds larger batches: it is +Inf
		}
		fmt.Fprintf(b, "sleuth_retrieve_batch_size_bucket{le=\"%d\"} %d\n", ub, cum)
	}
	fmt.Fprintf(b, "sleuth_retrieve_batch_size_bucket{le=\"+Inf\"} %d\n", cum)
	fmt.Fprintf(b, "sleuth_retrieve_batch_size_sum %d\n", st.Queries)
	fmt.Fprintf(b, "sleuth_retrieve_batch_size_count %d\n", st.Batches)
}

// write renders every metric in the text exposition format.
func (m *metrics) write(w io.Writer) error {
	var b bytes.Buffer
	m.mu.Lock()
	keys := make([]requestKey, 0, len(m.requests))
	for k := range m.requests {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].path != keys[j].path {
			return keys[i].path < keys[j].path
		}
		return keys[i].code < keys[j].code
	})
	b.WriteString("# HELP sleuth_retrieve_requests_total HTTP requests served, by path and status code.\n")
	b.WriteString("# TYPE sleuth_retrieve_requests_total counter\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "sleuth_retrieve_requests_total{code=\"%d\",path=%q} %d\n", k.code, k.path, m.requests[k])
	}
	b.WriteString("# HELP sleuth_retrieve_request_duration_seconds Latency of POST /retrieve, from the first byte read to the last written.\n")
	b.WriteString("# TYPE sleuth_retrieve_request_duration_seconds histogram\n")
	var cum uint64
	for i, ub := range latencyBuckets {
		cum += m.buckets[i]
		fmt.Fprintf(&b, "sleuth_retrieve_request_duration_seconds_bucket{le=\"%s\"} %d\n", strconv.FormatFloat(ub, 'g', -1, 64), cum)
	}
	fmt.Fprintf(&b, "sleuth_retrieve_request_duration_seconds_bucket{le=\"+Inf\"} %d\n", m.count)
	fmt.Fprintf(&b, "sleuth_retrieve_request_duration_seconds_sum %s\n", strconv.FormatFloat(m.sum, 'g', -1, 64))
	fmt.Fprintf(&b, "sleuth_retrieve_request_duration_seconds_count %d\n", m.count)
	lat := slices.Clone(m.recent[:min(m.nRecent, len(m.recent))])
	m.mu.Unlock()
	slices.Sort(lat)
	b.WriteString("# HELP sleuth_retrieve_latency_seconds Quantiles of the latest (up to 1024) POST /retrieve latencies.\n")
	b.WriteString("# TYPE sleuth_retrieve_latency_seconds gauge\n")
	for _, q := range []float64{0.5, 0.99} {
		v := 0.0
		if len(lat) > 0 {
			v = lat[min(int(q*float64(len(lat))), len(lat)-1)].Seconds()
		}
		fmt.Fprintf(&b, "sleuth_retrieve_latency_seconds{quantile=\"%g\"} %s\n", q, strconv.FormatFloat(v, 'g', 6, 64))
	}
	if m.batch != nil {
		writeBatchStats(&b, m.batch.Stats())
	}

	b.WriteString("# HELP sleuth_retrieve_queries_total Queries answered in successful /retrieve requests.\n")
	b.WriteString("# TYPE sleuth_retrieve_queries_total counter\n")
	fmt.Fprintf(&b, "sleuth_retrieve_queries_total %d\n", m.queries.Load())
	b.WriteString("# HELP sleuth_retrieve_in_flight_requests POST /retrieve requests being served now.\n")
	b.WriteString("# TYPE sleuth_retrieve_in_flight_requests gauge\n")
	fmt.Fprintf(&b, "sleuth_retrieve_in_flight_requests %d\n", m.inFlight.Load())
	b.WriteString("# HELP sleuth_retrieve_panics_total Handler panics recovered into a 500 response.\n")
	b.WriteString("# TYPE sleuth_retrieve_panics_total counter\n")
	fmt.Fprintf(&b, "sleuth_retrieve_panics_total %d\n", m.panics.Load())
	b.WriteString("# HELP process_start_time_seconds Start time of the process since unix epoch in seconds (taken when the server was built, at startup).\n")
	b.WriteString("# TYPE process_start_time_seconds gauge\n")
	fmt.Fprintf(&b, "process_start_time_seconds %s\n", strconv.FormatFloat(float64(m.start.UnixNano())/1e9, 'f', 3, 64))
	_, err := w.Write(b.Bytes())
	return err
}
