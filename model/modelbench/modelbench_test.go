package modelbench

import (
	"strings"
	"testing"

	"github.com/sleuth-research/sleuth/model"
	"github.com/sleuth-research/sleuth/model/kernels"
)

// TestTrainModelTiny times one step of a tiny model: positive throughput
// and FLOP rate, the figures Run reports for the bench models.
func TestTrainModelTiny(t *testing.T) {
	k := kernels.New(0)
	defer k.Close()
	cfg := model.Config{Arch: "llama", Dim: 32, HiddenDim: 64, Layers: 1, Heads: 2, KVHeads: 2, Vocab: 64,
		SeqLen: 128, RopeTheta: 10000, NormEps: 1e-5, TiedEmbeddings: true, BOS: 1, EOS: -1}
	f, err := benchTrainModel(k, cfg, 2, 64, 1)
	if err != nil {
		t.Fatal(err)
	}
	if f.TokensPerS <= 0 || f.GFLOPs <= 0 || f.GFLOPsPerCPU < 0 {
		t.Errorf("%+v: want positive throughput and FLOP rate", f)
	}
}

func TestWriteText(t *testing.T) {
	var b strings.Builder
	Report{Cores: 2, TrainGFLOPs: 5, MatmulPeakGFLOPs: 10, GenModel: "m.bin"}.WriteText(&b)
	if !strings.Contains(b.String(), "= 50% of the matmul peak 10.0 GFLOP/s") {
		t.Errorf("text report:\n%s", b.String())
	}
}

// TestFLOPsPerToken pins the count for the quickstart's model by hand:
// matrices 3·(4·128² + 3·128·341) + 4000·128 (tied output) = 1,101,440
// parameters; attention 6·128·3·(1024+1) per token at T = 1024.
func TestFLOPsPerToken(t *testing.T) {
	cfg, err := QuickstartConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Dim != 128 || cfg.Layers != 3 || cfg.HiddenDim != 341 || cfg.Vocab != 4000 || !cfg.TiedEmbeddings {
		t.Fatalf("quickstart model changed: %+v; update this test's hand count", cfg)
	}
	want := 6.0*1_101_440 + 6*128*3*1025
	if got := FLOPsPerToken(cfg, 1024); got != want {
		t.Errorf("FLOPsPerToken = %v, want %v", got, want)
	}
}

func TestWriteTextQuickstart(t *testing.T) {
	var b strings.Builder
	Report{MatmulPeakGFLOPs: 100, MatmulPeakPerCPU: 60,
		Quickstart: []ShapeFigure{{B: 4, T: 1024, TokensPerS: 5000, GFLOPs: 45, GFLOPsPerCPU: 30}}}.WriteText(&b)
	if !strings.Contains(b.String(), "at 4x1024: 5000 tokens/s, 45.0 GFLOP/s = 45% of the matmul peak 100.0 GFLOP/s; per CPU-second 30.0 GFLOP = 50% of the peak's 60.0") ||
		strings.Contains(b.String(), "generation") {
		t.Errorf("text report:\n%s", b.String())
	}
}
