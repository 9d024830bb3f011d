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
	tps, gflops, err := benchTrainModel(k, cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	if tps <= 0 || gflops <= 0 {
		t.Errorf("%v tokens/s, %v GFLOP/s: want both positive", tps, gflops)
	}
}

func TestWriteText(t *testing.T) {
	var b strings.Builder
	Report{Cores: 2, TrainGFLOPs: 5, MatmulPeakGFLOPs: 10, GenModel: "m.bin"}.WriteText(&b)
	if !strings.Contains(b.String(), "= 50% of the matmul peak 10.0 GFLOP/s") {
		t.Errorf("text report:\n%s", b.String())
	}
}
