// Package tinker speaks the subset of the Tinker training API that
// sleuth's training loop needs, as SkyRL self-hosts it (skyrl/tinker/api.py,
// its pydantic request and response models): a Client that drives a
// remote engine as an rl.Learner, and a Server that offers the same
// subset over sleuth's in-process engine (sleuth serve --tinker), so the
// embedded default and the remote path share one protocol.
//
// The subset, every path under /api/v1 and every body JSON:
//
//	GET  healthz                       {"status":"ok"}
//	POST create_session                {tags, sdk_version} → {session_id}
//	POST create_model                  {session_id, base_model, lora_config:{rank}} → {model_id, request_id}
//	POST forward_backward              {model_id, forward_backward_input:{data, loss_fn:"cross_entropy"}} → future
//	POST forward                       {model_id, forward_input:{…}} → future
//	POST optim_step                    {model_id, adam_params:{learning_rate, beta1, beta2, eps, weight_decay, grad_clip_norm}} → future
//	POST save_weights_for_sampler      {model_id, path} → future of {path:"tinker://M/sampler_weights/P"}
//	POST save_weights, load_weights    {model_id, path} → future (weights and optimiser state, by name)
//	POST unload_model                  {model_id} → {request_id, model_id}
//	POST retrieve_future               {request_id} → the result, or {"detail"} with 400/404/408
//	GET  training_runs/M/checkpoints/P/archive   302 to …/download, a tar.gz of the sampler weights
//
// A heavy call answers {future_id, status:"pending", request_id} and its
// result is fetched with retrieve_future. Only the cross_entropy loss is
// served: sleuth reduces every objective it trains to per-token weights
// on −log p (rl.Weights). Sampling (asample) is not: the client copies the
// weights after every step into a local model that samples the rollouts.
// grad_clip_norm is the Tinker SDK's field (0 disables); SkyRL's own
// AdamParams model has no such field and ignores it.
package tinker

import (
	"encoding/json"
	"fmt"
	"strings"
)

// API is the path prefix of every endpoint.
const API = "/api/v1/"

type createSessionRequest struct {
	Tags       []string `json:"tags"`
	SDKVersion string   `json:"sdk_version"`
}

type createSessionResponse struct {
	Type      string `json:"type"`
	SessionID string `json:"session_id"`
}

type loraConfig struct {
	Rank int    `json:"rank"`
	Seed *int64 `json:"seed,omitempty"`
}

type createModelRequest struct {
	SessionID  string     `json:"session_id"`
	BaseModel  string     `json:"base_model"`
	LoraConfig loraConfig `json:"lora_config"`
}

type createModelResponse struct {
	ModelID    string     `json:"model_id"`
	BaseModel  string     `json:"base_model"`
	LoraConfig loraConfig `json:"lora_config"`
	Status     string     `json:"status"`
	RequestID  string     `json:"request_id"`
}

type unloadModelRequest struct {
	ModelID string `json:"model_id"`
}

// unloadModelResponse is both the call's answer (request_id) and its
// future's result (type).
type unloadModelResponse struct {
	RequestID string `json:"request_id,omitempty"`
	ModelID   string `json:"model_id"`
	Type      string `json:"type,omitempty"`
}

// chunk is one piece of a model input; only encoded_text is served.
type chunk struct {
	Type   string `json:"type"`
	Tokens []int  `json:"tokens"`
}

type modelInput struct {
	Chunks []chunk `json:"chunks"`
}

// tensorData holds its values undecoded until the key says whether they
// are token ids or float32 weights: float32 values must be parsed as
// float32 to come back bit for bit.
type tensorData struct {
	Data  json.RawMessage `json:"data"`
	Dtype string          `json:"dtype,omitempty"`
	Shape []int           `json:"shape,omitempty"`
}

type datum struct {
	ModelInput   modelInput            `json:"model_input"`
	LossFnInputs map[string]tensorData `json:"loss_fn_inputs"`
}

type passInput struct {
	Data         []datum            `json:"data"`
	LossFn       string             `json:"loss_fn"`
	LossFnConfig map[string]float64 `json:"loss_fn_config,omitempty"`
}

type forwardBackwardRequest struct {
	ModelID string    `json:"model_id"`
	Input   passInput `json:"forward_backward_input"`
}

type forwardRequest struct {
	ModelID string    `json:"model_id"`
	Input   passInput `json:"forward_input"`
}

// lossOutputs is one datum's outputs: logprobs of its targets.
type lossOutputs struct {
	Logprobs floatTensor `json:"logprobs"`
}

type floatTensor struct {
	Data  []float32 `json:"data"`
	Dtype string    `json:"dtype"`
	Shape []int     `json:"shape"`
}

type forwardBackwardOutput struct {
	LossFnOutputType string             `json:"loss_fn_output_type"`
	LossFnOutputs    []lossOutputs      `json:"loss_fn_outputs"`
	Metrics          map[string]float64 `json:"metrics"`
}

type adamParams struct {
	LearningRate float64 `json:"learning_rate"`
	Beta1        float64 `json:"beta1"`
	Beta2        float64 `json:"beta2"`
	Eps          float64 `json:"eps"`
	WeightDecay  float64 `json:"weight_decay"`
	GradClipNorm float64 `json:"grad_clip_norm"`
}

type optimStepRequest struct {
	ModelID    string     `json:"model_id"`
	AdamParams adamParams `json:"adam_params"`
}

type optimStepOutput struct {
	Metrics map[string]float64 `json:"metrics"`
}

// weightsRequest is save_weights_for_sampler's, save_weights' and
// load_weights' body: a checkpoint name to save, or a tinker:// path to
// load.
type weightsRequest struct {
	ModelID string `json:"model_id"`
	Path    string `json:"path"`
}

type weightsOutput struct {
	Path string `json:"path,omitempty"`
	Type string `json:"type"`
}

type futureResponse struct {
	FutureID  string `json:"future_id"`
	Status    string `json:"status"`
	RequestID string `json:"request_id"`
}

type retrieveFutureRequest struct {
	RequestID string `json:"request_id"`
}

// errorBody is FastAPI's error shape, which the Tinker SDK reads.
type errorBody struct {
	Detail string `json:"detail"`
}

// Metric names, Tinker's "name:reduction".
const (
	metricLoss     = "loss:sum"
	metricGradNorm = "grad_norm:mean"
	metricLR       = "learning_rate:mean"
)

// tinkerPath is tinker://MODEL/KIND/ID, as skyrl's TinkerPath parses it.
type tinkerPath struct{ model, kind, id string }

func (p tinkerPath) String() string { return "tinker://" + p.model + "/" + p.kind + "/" + p.id }

func parseTinkerPath(s string) (tinkerPath, error) {
	rest, ok := strings.CutPrefix(s, "tinker://")
	parts := strings.Split(rest, "/")
	if !ok || len(parts) != 3 || parts[0] == "" || parts[2] == "" {
		return tinkerPath{}, fmt.Errorf("path %q: want tinker://MODEL/KIND/ID", s)
	}
	return tinkerPath{parts[0], parts[1], parts[2]}, nil
}

// validID is skyrl's ID_PATTERN, ^[a-zA-Z0-9_-]+$, at most 255 bytes.
func validID(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for _, c := range s {
		if !(c == '_' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}
