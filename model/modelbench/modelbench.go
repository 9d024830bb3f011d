// Package modelbench measures the transformer engine (what `sleuth bench
// model` reports): training tokens/s and GFLOP/s against a matmul peak,
// generation tokens/s, and the resident memory generation adds.
package modelbench

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/sleuth-research/sleuth/examples"
	"github.com/sleuth-research/sleuth/internal/procstat"
	"github.com/sleuth-research/sleuth/model"
	"github.com/sleuth-research/sleuth/model/kernels"
)

// Report is what Run measures (`sleuth bench model`). The first four fields
// are the headline figures.
type Report struct {
	TrainTokensPerS      float64 `json:"train_tokens_per_s"`
	TrainGFLOPs          float64 `json:"train_gflops"`
	GenTokensPerS        float64 `json:"gen_tokens_per_s"`
	GenBatch16TokensPerS float64 `json:"gen_batch16_tokens_per_s"`
	MatmulPeakGFLOPs     float64 `json:"matmul_peak_gflops"`
	// MatmulPeakPerCPU is the peak's work over its CPU time (GFLOP per
	// CPU-second; 0 where the system gives no CPU clock).
	MatmulPeakPerCPU      float64 `json:"matmul_peak_gflops_per_cpu_s"`
	Gen512TokensPerS      float64 `json:"gen_d512_tokens_per_s"`
	Gen512Batch16TokensPS float64 `json:"gen_d512_batch16_tokens_per_s"`
	GenRSSBytes           int64   `json:"gen_rss_bytes"`
	Gen512RSSBytes        int64   `json:"gen_d512_rss_bytes"`
	// Memory goal: resident memory the model adds while generating 16
	// sequences (peak RSS during the run minus the process's RSS before any
	// model was loaded), over its weights plus its KV cache.
	GenMemRatio float64 `json:"gen_mem_ratio"`
	// The scaling figures: the same training step on a d=512, 8-layer model.
	Train512TokensPerS float64 `json:"train_d512_tokens_per_s"`
	Train512GFLOPs     float64 `json:"train_d512_gflops"`
	Gen512MemRatio     float64 `json:"gen_d512_mem_ratio"`
	// The quickstart's training step: its model (examples/base) at the
	// micro-batches RL and SFT plan (rl/batch.go: 4096 positions).
	Quickstart []ShapeFigure `json:"quickstart_train"`
	Cores      int           `json:"cores"`
	SIMD       bool          `json:"simd"`
	TrainModel string        `json:"train_model"`
	GenModel   string        `json:"gen_model"`
}

// Run measures the engine: a matmul peak, generation with the llama2.c
// checkpoint at genPath and with a random d512 model (tokens/s, resident
// memory), and training steps (the fastest of steps) of the d128 and
// d512 models. Progress lines go to log (nil: none).
func Run(ctx context.Context, log io.Writer, genPath string, steps int) (Report, error) {
	if log == nil {
		log = io.Discard
	}
	k := kernels.New(0)
	defer k.Close()
	rep := Report{Cores: runtime.GOMAXPROCS(0), SIMD: k.SIMD(), TrainModel: "llama L4 d128 H4 V512, batch 16x128, AdamW"}
	debug.FreeOSMemory()
	floor := procstat.Field("VmRSS") // the process before any model: runtime, binary, kernels
	rep.MatmulPeakGFLOPs, rep.MatmulPeakPerCPU = matmulPeak(k)
	fmt.Fprintf(log, "matmul peak (2048x128)·(512x128)ᵀ: %.1f GFLOP/s\n", rep.MatmulPeakGFLOPs)
	gen, err := model.Load(genPath)
	if err != nil {
		return rep, fmt.Errorf("bench model: %w", err)
	}
	rep.GenModel = filepath.Base(genPath)
	if rep.GenTokensPerS, rep.GenBatch16TokensPerS, rep.GenRSSBytes, err = benchGenerate(ctx, gen, k); err != nil {
		return rep, err
	}
	rep.GenMemRatio = memRatio(gen, rep.GenRSSBytes, floor)
	fmt.Fprintf(log, "generation %s: %.0f tokens/s single, %.0f tokens/s at 16 sequences\n", rep.GenModel, rep.GenTokensPerS, rep.GenBatch16TokensPerS)
	big, err := model.NewRandom(model.Config{Arch: "llama", Dim: 512, HiddenDim: 1376, Layers: 8, Heads: 8, KVHeads: 8,
		Vocab: 512, SeqLen: 256, RopeTheta: 10000, NormEps: 1e-5, TiedEmbeddings: true, BOS: 1, EOS: -1}, 1)
	if err != nil {
		return rep, err
	}
	if rep.Gen512TokensPerS, rep.Gen512Batch16TokensPS, rep.Gen512RSSBytes, err = benchGenerate(ctx, big, k); err != nil {
		return rep, err
	}
	rep.Gen512MemRatio = memRatio(big, rep.Gen512RSSBytes, floor)
	fmt.Fprintf(log, "generation d512 L8: %.0f tokens/s single, %.0f tokens/s at 16 sequences\n", rep.Gen512TokensPerS, rep.Gen512Batch16TokensPS)
	debug.FreeOSMemory()
	if rep.TrainTokensPerS, rep.TrainGFLOPs, err = benchTrain(k, steps); err != nil {
		return rep, err
	}
	fmt.Fprintf(log, "training: %.0f tokens/s, %.1f GFLOP/s\n", rep.TrainTokensPerS, rep.TrainGFLOPs)
	debug.FreeOSMemory()
	f512, err := benchTrainModel(k, train512Config(), 16, 128, 2)
	if err != nil {
		return rep, err
	}
	rep.Train512TokensPerS, rep.Train512GFLOPs = f512.TokensPerS, f512.GFLOPs
	fmt.Fprintf(log, "training d512 L8: %.0f tokens/s, %.1f GFLOP/s\n", rep.Train512TokensPerS, rep.Train512GFLOPs)
	if rep.Quickstart, err = Quickstart(k, steps); err != nil {
		return rep, err
	}
	for _, f := range rep.Quickstart {
		fmt.Fprintf(log, "training quickstart %dx%d: %.0f tokens/s, %.1f GFLOP/s\n", f.B, f.T, f.TokensPerS, f.GFLOPs)
	}
	return rep, nil
}

// RunQuickstart measures only the matmul peak and the quickstart's
// training step (`sleuth bench model --quickstart`), for comparing
// engine builds quickly.
func RunQuickstart(log io.Writer, steps int) (Report, error) {
	if log == nil {
		log = io.Discard
	}
	k := kernels.New(0)
	defer k.Close()
	rep := Report{Cores: runtime.GOMAXPROCS(0), SIMD: k.SIMD()}
	rep.MatmulPeakGFLOPs, rep.MatmulPeakPerCPU = matmulPeak(k)
	fmt.Fprintf(log, "matmul peak (2048x128)·(512x128)ᵀ: %.1f GFLOP/s\n", rep.MatmulPeakGFLOPs)
	var err error
	rep.Quickstart, err = Quickstart(k, steps)
	return rep, err
}

// ShapeFigure is one training step shape's throughput.
type ShapeFigure struct {
	B          int     `json:"batch"`
	T          int     `json:"seq_len"`
	TokensPerS float64 `json:"tokens_per_s"`
	GFLOPs     float64 `json:"gflops"` // fastest step, wall clock
	// GFLOPsPerCPU is every timed step's work over the process's CPU time
	// (GFLOP per CPU-second): on a machine shared with other work it is
	// the steadier efficiency figure. It leaves out time a core sat idle
	// waiting for the other, so it flatters steps with serial parts.
	GFLOPsPerCPU float64 `json:"gflops_per_cpu_s"`
}

// QuickstartShapes are the quickstart's long micro-batches: rl/batch.go
// fills 4096 positions per trainer call, so B = 4096/T.
var QuickstartShapes = [][2]int{{4, 1024}, {2, 1536}}

// QuickstartConfig is the quickstart's model: the built-in base checkpoint's
// config.json, read from the copy embedded in the binary.
func QuickstartConfig() (model.Config, error) {
	b, err := examples.Base.ReadFile("base/config.json")
	if err != nil {
		return model.Config{}, fmt.Errorf("quickstart model config: %w", err)
	}
	return model.ParseHFConfig(b)
}

// Quickstart times full training steps of the quickstart's model at each
// of QuickstartShapes, the fastest of steps (at least 2) for each.
func Quickstart(k *kernels.Kernels, steps int) ([]ShapeFigure, error) {
	cfg, err := QuickstartConfig()
	if err != nil {
		return nil, err
	}
	var out []ShapeFigure
	for _, s := range QuickstartShapes {
		debug.FreeOSMemory()
		f, err := benchTrainModel(k, cfg, s[0], s[1], max(2, steps/2))
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

// matmulPeak times the engine's largest training product on all cores,
// best of repeated calls (the machine may be shared). perCPU is the same
// work over the process's CPU time: GFLOP per CPU-second, which a busy
// machine slows much less than the wall clock.
func matmulPeak(k *kernels.Kernels) (gflops, perCPU float64) {
	const m, kk, n = 2048, 128, 512
	a, b, out := make([]float32, m*kk), make([]float32, n*kk), make([]float32, m*n)
	for i := range a {
		a[i] = float32(i%7) * 0.1
	}
	for i := range b {
		b[i] = float32(i%5) * 0.1
	}
	best, calls, cpu0 := time.Duration(1<<62), 0, cpuSeconds()
	for start := time.Now(); time.Since(start) < 500*time.Millisecond; calls++ {
		t0 := time.Now()
		k.MatMulT(out, a, b, m, kk, n, false)
		best = min(best, time.Since(t0))
	}
	flops := 2 * float64(m*kk*n)
	return flops / best.Seconds() / 1e9, perGFLOP(flops*float64(calls), cpuSeconds()-cpu0)
}

// perGFLOP is flops over seconds in GFLOP/s, 0 when seconds is not
// positive (no CPU clock on this system).
func perGFLOP(flops, seconds float64) float64 {
	if seconds <= 0 {
		return 0
	}
	return flops / seconds / 1e9
}

// benchTrain times full steps (forward, backward, AdamW) of the bench model.
// trainConfig is the training benchmark model (4 layers, d=128).
func trainConfig() model.Config {
	return model.Config{Arch: "llama", Dim: 128, HiddenDim: 352, Layers: 4, Heads: 4, KVHeads: 4, Vocab: 512,
		SeqLen: 128, RopeTheta: 10000, NormEps: 1e-5, TiedEmbeddings: true, BOS: 1, EOS: -1}
}

// train512Config is the larger model of the scaling figures.
func train512Config() model.Config {
	return model.Config{Arch: "llama", Dim: 512, HiddenDim: 1376, Layers: 8, Heads: 8, KVHeads: 8, Vocab: 512,
		SeqLen: 128, RopeTheta: 10000, NormEps: 1e-5, TiedEmbeddings: true, BOS: 1, EOS: -1}
}

func benchTrain(k *kernels.Kernels, steps int) (tokensPerS, gflops float64, err error) {
	f, err := benchTrainModel(k, trainConfig(), 16, 128, steps)
	return f.TokensPerS, f.GFLOPs, err
}

// benchTrainModel times full training steps (forward, backward, AdamW) of
// cfg on a B×T batch: the fastest of steps, and all steps over their CPU
// time.
func benchTrainModel(k *kernels.Kernels, cfg model.Config, B, T, steps int) (ShapeFigure, error) {
	f := ShapeFigure{B: B, T: T}
	m, err := model.NewRandom(cfg, 1)
	if err != nil {
		return f, err
	}
	m.SetMatmuls(k)
	tr, err := model.NewTrainer(m, model.DefaultTrainConfig(B, T), 1)
	if err != nil {
		return f, err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	tokens, targets := make([]int, B*T), make([]int, B*T)
	for i := range tokens {
		tokens[i] = rng.IntN(cfg.Vocab)
	}
	copy(targets, tokens[1:])
	step := func() error {
		if _, err := tr.ForwardBackward(tokens, targets, nil); err != nil {
			return err
		}
		tr.Update()
		return nil
	}
	if err := step(); err != nil { // warm-up
		return f, err
	}
	best, cpu0 := time.Duration(1<<62), cpuSeconds()
	for range steps {
		t0 := time.Now()
		if err := step(); err != nil {
			return f, err
		}
		best = min(best, time.Since(t0))
	}
	flops := float64(B*T) * FLOPsPerToken(cfg, T)
	f.TokensPerS = float64(B*T) / best.Seconds()
	f.GFLOPs = flops / best.Seconds() / 1e9
	f.GFLOPsPerCPU = perGFLOP(flops*float64(steps), cpuSeconds()-cpu0)
	return f, nil
}

// FLOPsPerToken is the useful work of one training step per token: 6
// FLOPs per matrix parameter (forward 2, backward 4), plus causal
// attention's products counted over the unmasked half only. Query t meets
// t+1 keys, so q·kᵀ and p·v cost 2·2·C·(T+1)/2 per token on average in the
// forward, twice that in the backward: 6·C·(T+1) per token per layer.
// The masked half, computed or not, is never counted, so the figure
// compares engines that skip it with engines that do not.
func FLOPsPerToken(cfg model.Config, T int) float64 {
	matParams := 0
	for _, t := range model.Layout(cfg) {
		if t.Decay {
			matParams += t.Size
		}
	}
	return 6*float64(matParams) + 6*float64(cfg.Dim*cfg.Layers*(T+1))
}

// benchGenerate measures greedy single-stream and 16-sequence sampled
// decoding, each over the model's whole context from BOS, and the resident
// memory after a 16-sequence run.
func benchGenerate(ctx context.Context, m *model.Model, k *kernels.Kernels) (single, batch16 float64, rss int64, err error) {
	m.SetMatmuls(k)
	maxTok := min(m.Config.SeqLen-1, 255)
	run := func(opt model.GenerateOptions) (float64, error) {
		best := 0.0
		for start := time.Now(); time.Since(start) < 700*time.Millisecond || best == 0; {
			t0 := time.Now()
			seqs, err := m.Generate(ctx, [][]int{{1}}, opt)
			if err != nil {
				return 0, err
			}
			total := 0
			for _, s := range seqs {
				total += len(s.Tokens)
			}
			best = max(best, float64(total)/time.Since(t0).Seconds())
		}
		return best, nil
	}
	if single, err = run(model.GenerateOptions{MaxTokens: maxTok}); err != nil {
		return 0, 0, 0, err
	}
	opt16 := model.GenerateOptions{MaxTokens: maxTok, N: 16, Temperature: 1, Seed: 1}
	if batch16, err = run(opt16); err != nil {
		return 0, 0, 0, err
	}
	// Peak resident memory during one 16-sequence run, after dropping
	// earlier garbage, sampled while it runs.
	debug.FreeOSMemory()
	done := make(chan struct{})
	peak := make(chan int64)
	go func() {
		top := procstat.Field("VmRSS")
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				peak <- max(top, procstat.Field("VmRSS"))
				return
			case <-t.C:
				top = max(top, procstat.Field("VmRSS"))
			}
		}
	}()
	_, err = m.Generate(ctx, [][]int{{1}}, opt16)
	close(done)
	return single, batch16, <-peak, err
}

// memRatio is the resident memory a model added while generating 16
// sequences (peak minus the model-free floor) over its weights plus the
// KV caches of that run (16 samples and the shared prefill cache).
func memRatio(m *model.Model, peak, floor int64) float64 {
	c := m.Config
	capacity := int64(min(c.SeqLen, 1+min(c.SeqLen-1, 255)))
	kv := 17 * int64(c.Layers) * 2 * int64(c.KVDim()) * capacity * 4
	weights := int64(model.NumParams(c)) * 4
	return float64(peak-floor) / float64(weights+kv)
}

// WriteText prints the report as `sleuth bench model` shows it.
func (r Report) WriteText(w io.Writer) {
	fmt.Fprintf(w, "cores %d, SIMD %v; each figure is the best of repeated runs\n", r.Cores, r.SIMD)
	r.writeQuickstart(w)
	if r.TrainModel == "" && len(r.Quickstart) > 0 { // --quickstart: nothing else was measured
		return
	}
	fmt.Fprintf(w, "training (%s): %.0f tokens/s, %.1f GFLOP/s = %.0f%% of the matmul peak %.1f GFLOP/s\n",
		r.TrainModel, r.TrainTokensPerS, r.TrainGFLOPs, 100*r.TrainGFLOPs/r.MatmulPeakGFLOPs, r.MatmulPeakGFLOPs)
	fmt.Fprintf(w, "training d512 L8 (same batch): %.0f tokens/s, %.1f GFLOP/s = %.0f%% of the peak\n",
		r.Train512TokensPerS, r.Train512GFLOPs, 100*r.Train512GFLOPs/r.MatmulPeakGFLOPs)
	fmt.Fprintf(w, "generation %s: %.0f tokens/s single stream, %.0f tokens/s at 16 sequences (%.1fx)\n",
		r.GenModel, r.GenTokensPerS, r.GenBatch16TokensPerS, r.GenBatch16TokensPerS/r.GenTokensPerS)
	fmt.Fprintf(w, "generation random d512 L8 V512: %.0f tokens/s single stream, %.0f tokens/s at 16 sequences (%.1fx)\n",
		r.Gen512TokensPerS, r.Gen512Batch16TokensPS, r.Gen512Batch16TokensPS/r.Gen512TokensPerS)
	fmt.Fprintf(w, "resident memory generating 16 sequences: %.1f MiB (%s), %.1f MiB (d512 model); added by the model over weights+KV: %.2fx, %.2fx (goal <= 1.5)\n",
		float64(r.GenRSSBytes)/(1<<20), r.GenModel, float64(r.Gen512RSSBytes)/(1<<20), r.GenMemRatio, r.Gen512MemRatio)
}

// writeQuickstart prints the quickstart shapes' lines.
func (r Report) writeQuickstart(w io.Writer) {
	for _, f := range r.Quickstart {
		fmt.Fprintf(w, "training, quickstart model (examples/base) at %dx%d: %.0f tokens/s, %.1f GFLOP/s = %.0f%% of the matmul peak %.1f GFLOP/s",
			f.B, f.T, f.TokensPerS, f.GFLOPs, 100*f.GFLOPs/r.MatmulPeakGFLOPs, r.MatmulPeakGFLOPs)
		if f.GFLOPsPerCPU > 0 && r.MatmulPeakPerCPU > 0 {
			fmt.Fprintf(w, "; per CPU-second %.1f GFLOP = %.0f%% of the peak's %.1f", f.GFLOPsPerCPU, 100*f.GFLOPsPerCPU/r.MatmulPeakPerCPU, r.MatmulPeakPerCPU)
		}
		fmt.Fprintln(w)
	}
}
