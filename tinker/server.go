package tinker

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/sleuth-research/sleuth/model"
)

// Config sets a Server. Zero fields take the defaults noted.
type Config struct {
	// Base loads the model a create_model names (base_model), a fresh copy
	// each call; sleuth serve --tinker resolves the bases it was given
	// (builtin, base directories).
	Base func(name string) (*model.Model, error)
	// Matmuls, when set, runs every model's matrix products (kernels.New).
	Matmuls model.Matmuls

	MaxSessions  int   // default 1024; the API has no call that ends one, a restart clears them
	MaxModels    int   // models held at once (unload_model frees one); default 4
	MaxFutures   int   // results kept for retrieve_future; default 1024, oldest dropped
	MaxSaved     int   // sampler and training checkpoints kept per model; default 4, oldest dropped
	MaxRows      int   // datums in one forward_backward; default 4096
	MaxBodyBytes int64 // default 64 MiB (SkyRL's bound on a forward_backward body)
	Logger       *slog.Logger
}

func (c Config) defaults() Config {
	set := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	set(&c.MaxSessions, 1024)
	set(&c.MaxModels, 4)
	set(&c.MaxFutures, 1024)
	set(&c.MaxSaved, 4)
	set(&c.MaxRows, 4096)
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 64 << 20
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Server serves the Tinker subset (see the package doc) over in-process
// trainers. Work runs one call at a time, in the order calls arrive, and
// is done before the call answers: its future is complete when the
// client first asks. Safe for concurrent use.
type Server struct {
	cfg Config
	mux *http.ServeMux

	mu       sync.Mutex // everything below, and every trainer
	next     int
	sessions map[string]bool
	models   map[string]*heldModel
	futures  map[string]json.RawMessage // result JSON; errors are stored as failures
	failures map[string]string
	order    []string // futures, oldest first
}

// heldModel is one create_model's trainer and its saved checkpoints.
type heldModel struct {
	tr      *model.Trainer
	sampler map[string][]float32 // sampler weights by checkpoint id
	states  map[string]*trainState
	saved   []string // "kind/id", oldest first
}

// trainState is save_weights' checkpoint: weights and optimiser.
type trainState struct {
	params, m, v []float32
	step         int
}

// NewServer returns a Server.
func NewServer(cfg Config) *Server {
	s := &Server{cfg: cfg.defaults(), sessions: map[string]bool{}, models: map[string]*heldModel{},
		futures: map[string]json.RawMessage{}, failures: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+API+"healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("POST "+API+"create_session", s.createSession)
	mux.HandleFunc("POST "+API+"create_model", s.createModel)
	mux.HandleFunc("POST "+API+"forward_backward", s.heavy(s.forwardBackward))
	mux.HandleFunc("POST "+API+"forward", s.heavy(s.forward))
	mux.HandleFunc("POST "+API+"optim_step", s.heavy(s.optimStep))
	mux.HandleFunc("POST "+API+"save_weights_for_sampler", s.heavy(s.saveForSampler))
	mux.HandleFunc("POST "+API+"save_weights", s.heavy(s.saveWeights))
	mux.HandleFunc("POST "+API+"load_weights", s.heavy(s.loadWeights))
	mux.HandleFunc("POST "+API+"unload_model", s.unloadModel)
	mux.HandleFunc("POST "+API+"retrieve_future", s.retrieveFuture)
	mux.HandleFunc("GET "+API+"training_runs/{model}/checkpoints/{id}/archive", s.archive)
	mux.HandleFunc("GET "+API+"training_runs/{model}/checkpoints/{id}/download", s.download)
	s.mux = mux
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// httpError is an error with the status to answer.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func errStatus(status int, format string, a ...any) error {
	return &httpError{status, fmt.Sprintf(format, a...)}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, err error) {
	status := http.StatusBadRequest
	var he *httpError
	if errors.As(err, &he) {
		status = he.status
	}
	writeJSON(w, status, errorBody{Detail: err.Error()})
}

// decode reads a bounded JSON body into v.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) error {
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return errStatus(http.StatusRequestEntityTooLarge, "body over %d bytes", s.cfg.MaxBodyBytes)
		}
		return errStatus(http.StatusUnprocessableEntity, "bad request body: %v", err)
	}
	return nil
}

func (s *Server) newID(prefix string) string {
	s.next++
	return prefix + strconv.Itoa(s.next)
}

func (s *Server) createSession(w http.ResponseWriter, r *http.Request) {
	var req createSessionRequest
	if err := s.decode(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.sessions) >= s.cfg.MaxSessions {
		writeError(w, errStatus(http.StatusServiceUnavailable, "%d sessions open: no room for another", len(s.sessions)))
		return
	}
	id := s.newID("session_")
	s.sessions[id] = true
	writeJSON(w, http.StatusOK, createSessionResponse{Type: "create_session", SessionID: id})
}

func (s *Server) createModel(w http.ResponseWriter, r *http.Request) {
	var req createModelRequest
	if err := s.decode(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.sessions[req.SessionID] {
		writeError(w, errStatus(http.StatusNotFound, "session not found"))
		return
	}
	if len(s.models) >= s.cfg.MaxModels {
		writeError(w, errStatus(http.StatusServiceUnavailable, "%d models held: no room for another", len(s.models)))
		return
	}
	if s.cfg.Base == nil {
		writeError(w, errStatus(http.StatusBadRequest, "this server holds no base models"))
		return
	}
	m, err := s.cfg.Base(req.BaseModel)
	if err != nil {
		writeError(w, errStatus(http.StatusBadRequest, "base_model %q: %v", req.BaseModel, err))
		return
	}
	if s.cfg.Matmuls != nil {
		m.SetMatmuls(s.cfg.Matmuls)
	}
	// The shape is set per call and the optimiser's settings per step, so
	// only the length limit matters here.
	tr, err := model.NewTrainer(m, model.DefaultTrainConfig(1, m.Config.SeqLen), 0)
	if err != nil {
		writeError(w, err)
		return
	}
	id := s.newID("model_")
	s.models[id] = &heldModel{tr: tr, sampler: map[string][]float32{}, states: map[string]*trainState{}}
	fid := s.complete(createModelResponse{ModelID: id, BaseModel: req.BaseModel, LoraConfig: req.LoraConfig, Status: "created"}, nil)
	writeJSON(w, http.StatusOK, createModelResponse{ModelID: id, BaseModel: req.BaseModel, LoraConfig: req.LoraConfig, Status: "created", RequestID: fid})
}

// unloadModel frees a model and its checkpoints (skyrl's unload_model).
func (s *Server) unloadModel(w http.ResponseWriter, r *http.Request) {
	var req unloadModelRequest
	if err := s.decode(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.models[req.ModelID] == nil {
		writeError(w, errStatus(http.StatusNotFound, "model not found"))
		return
	}
	delete(s.models, req.ModelID)
	fid := s.complete(unloadModelResponse{ModelID: req.ModelID, Type: "unload_model"}, nil)
	writeJSON(w, http.StatusOK, unloadModelResponse{RequestID: fid, ModelID: req.ModelID})
}

// heavy wraps a call that answers with a future: op runs under the lock
// and its result (or error) is stored for retrieve_future. A body that
// cannot be read or names no model is refused at once, as SkyRL does.
func (s *Server) heavy(op func(w http.ResponseWriter, r *http.Request) (func(*heldModel) (any, error), string, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		run, modelID, err := op(w, r)
		if err != nil {
			writeError(w, err)
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		hm := s.models[modelID]
		if hm == nil {
			writeError(w, errStatus(http.StatusNotFound, "model not found"))
			return
		}
		res, err := run(hm)
		fid := s.complete(res, err)
		writeJSON(w, http.StatusOK, futureResponse{FutureID: fid, Status: "pending", RequestID: fid})
	}
}

// complete stores a finished future and drops the oldest beyond the
// bound. The caller holds s.mu.
func (s *Server) complete(res any, err error) string {
	id := s.newID("")
	if err != nil {
		s.failures[id] = err.Error()
	} else {
		b, merr := json.Marshal(res)
		if merr != nil {
			s.failures[id] = merr.Error()
		} else {
			s.futures[id] = b
		}
	}
	s.order = append(s.order, id)
	for len(s.order) > s.cfg.MaxFutures {
		delete(s.futures, s.order[0])
		delete(s.failures, s.order[0])
		s.order = s.order[1:]
	}
	return id
}

func (s *Server) retrieveFuture(w http.ResponseWriter, r *http.Request) {
	var req retrieveFutureRequest
	if err := s.decode(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	s.mu.Lock()
	res, ok := s.futures[req.RequestID]
	msg, failed := s.failures[req.RequestID]
	s.mu.Unlock()
	switch {
	case ok:
		w.Header().Set("Content-Type", "application/json")
		w.Write(res)
	case failed:
		writeError(w, errStatus(http.StatusBadRequest, "%s", msg))
	default:
		writeError(w, errStatus(http.StatusNotFound, "future not found"))
	}
}

func (s *Server) forwardBackward(w http.ResponseWriter, r *http.Request) (func(*heldModel) (any, error), string, error) {
	var req forwardBackwardRequest
	if err := s.decode(w, r, &req); err != nil {
		return nil, "", err
	}
	return func(hm *heldModel) (any, error) { return s.pass(hm, req.Input, true) }, req.ModelID, nil
}

func (s *Server) forward(w http.ResponseWriter, r *http.Request) (func(*heldModel) (any, error), string, error) {
	var req forwardRequest
	if err := s.decode(w, r, &req); err != nil {
		return nil, "", err
	}
	return func(hm *heldModel) (any, error) { return s.pass(hm, req.Input, false) }, req.ModelID, nil
}

// pass runs one forward (and backward) pass over the datums as one (B,T)
// batch and answers each datum's target logprobs and the loss.
func (s *Server) pass(hm *heldModel, in passInput, backward bool) (any, error) {
	cfg := hm.tr.Model.Config
	b, err := decodeBatch(in, cfg.Vocab, cfg.SeqLen, s.cfg.MaxRows)
	if err != nil {
		return nil, err
	}
	if err := hm.tr.SetShape(b.B, b.T); err != nil {
		return nil, err
	}
	var loss float64
	if backward {
		loss, err = hm.tr.ForwardBackward(b.tokens, b.targets, b.weights)
	} else {
		loss, err = hm.tr.Loss(b.tokens, b.targets, b.weights)
	}
	if err != nil {
		return nil, err
	}
	logp := hm.tr.TokenLogprobs()
	out := forwardBackwardOutput{LossFnOutputType: "cross_entropy", Metrics: map[string]float64{metricLoss: loss}}
	for i := range b.B {
		row := logp[i*b.T : (i+1)*b.T]
		out.LossFnOutputs = append(out.LossFnOutputs, lossOutputs{Logprobs: floatTensor{Data: row, Dtype: "float32", Shape: []int{b.T}}})
	}
	return out, nil
}

// batch is a forward_backward's datums as the engine's (B,T) arrays.
type batch struct {
	B, T            int
	tokens, targets []int
	weights         []float32
}

// decodeBatch checks and lays out datums: encoded_text chunks only, all
// rows of one length (the engine trains rectangular batches), targets and
// weights as long as the row, token ids inside the vocabulary. A target
// below zero is ignored (sleuth's padding); missing weights are 1, as in
// SkyRL.
func decodeBatch(in passInput, vocab, maxT, maxRows int) (batch, error) {
	if in.LossFn != "cross_entropy" {
		return batch{}, fmt.Errorf("loss_fn %q is not served: this engine trains cross_entropy with per-token weights", in.LossFn)
	}
	if len(in.LossFnConfig) > 0 {
		return batch{}, fmt.Errorf("loss_fn='cross_entropy' does not accept loss_fn_config keys")
	}
	if len(in.Data) == 0 || len(in.Data) > maxRows {
		return batch{}, fmt.Errorf("%d datums: want 1 to %d", len(in.Data), maxRows)
	}
	var b batch
	b.B = len(in.Data)
	for i, d := range in.Data {
		var row []int
		for _, c := range d.ModelInput.Chunks {
			if c.Type != "" && c.Type != "encoded_text" {
				return batch{}, fmt.Errorf("datum %d: chunk type %q is not served", i, c.Type)
			}
			row = append(row, c.Tokens...)
			if len(row) > maxT {
				return batch{}, fmt.Errorf("datum %d: over %d tokens", i, maxT)
			}
		}
		if i == 0 {
			b.T = len(row)
			if b.T == 0 {
				return batch{}, fmt.Errorf("datum 0: no tokens")
			}
			b.tokens, b.targets, b.weights = make([]int, 0, b.B*b.T), make([]int, 0, b.B*b.T), make([]float32, 0, b.B*b.T)
		} else if len(row) != b.T {
			return batch{}, fmt.Errorf("datum %d: %d tokens where datum 0 has %d (this engine trains rows of one length)", i, len(row), b.T)
		}
		tg, ok := d.LossFnInputs["target_tokens"]
		if !ok {
			return batch{}, fmt.Errorf("datum %d: no target_tokens", i)
		}
		var targets []int
		if err := json.Unmarshal(tg.Data, &targets); err != nil || len(targets) != b.T {
			return batch{}, fmt.Errorf("datum %d: target_tokens must be %d token ids", i, b.T)
		}
		weights := make([]float32, b.T)
		if wt, ok := d.LossFnInputs["weights"]; ok {
			if err := json.Unmarshal(wt.Data, &weights); err != nil || len(weights) != b.T {
				return batch{}, fmt.Errorf("datum %d: weights must be %d numbers", i, b.T)
			}
		} else {
			for k := range weights {
				weights[k] = 1
			}
		}
		for k := range b.T {
			if row[k] < 0 || row[k] >= vocab || targets[k] >= vocab {
				return batch{}, fmt.Errorf("datum %d: token %d outside the vocabulary [0,%d)", i, k, vocab)
			}
		}
		b.tokens, b.targets, b.weights = append(b.tokens, row...), append(b.targets, targets...), append(b.weights, weights...)
	}
	return b, nil
}

func (s *Server) optimStep(w http.ResponseWriter, r *http.Request) (func(*heldModel) (any, error), string, error) {
	var req optimStepRequest
	if err := s.decode(w, r, &req); err != nil {
		return nil, "", err
	}
	p := req.AdamParams
	if !(p.LearningRate >= 0) || p.Beta1 < 0 || p.Beta1 >= 1 || p.Beta2 < 0 || p.Beta2 >= 1 || !(p.Eps > 0) || p.WeightDecay < 0 || p.GradClipNorm < 0 {
		return nil, "", errStatus(http.StatusUnprocessableEntity, "adam_params out of range: %+v", p)
	}
	return func(hm *heldModel) (any, error) {
		c := hm.tr.Settings()
		// A constant schedule at the rate sent: the client owns the schedule.
		c.LR, c.MinLR, c.WarmupSteps, c.DecaySteps = p.LearningRate, p.LearningRate, 0, 0
		c.Beta1, c.Beta2, c.Eps, c.WeightDecay, c.GradClip = p.Beta1, p.Beta2, p.Eps, p.WeightDecay, p.GradClipNorm
		us := hm.tr.Update()
		return optimStepOutput{Metrics: map[string]float64{metricGradNorm: us.GradNorm, metricLR: us.LR}}, nil
	}, req.ModelID, nil
}

// decodeSave reads a save_weights or save_weights_for_sampler request,
// whose path names the checkpoint.
func (s *Server) decodeSave(w http.ResponseWriter, r *http.Request) (weightsRequest, error) {
	var req weightsRequest
	if err := s.decode(w, r, &req); err != nil {
		return req, err
	}
	if !validID(req.Path) {
		return req, errStatus(http.StatusUnprocessableEntity, "path must match ^[a-zA-Z0-9_-]+$")
	}
	return req, nil
}

func (s *Server) saveForSampler(w http.ResponseWriter, r *http.Request) (func(*heldModel) (any, error), string, error) {
	req, err := s.decodeSave(w, r)
	if err != nil {
		return nil, "", err
	}
	return func(hm *heldModel) (any, error) {
		hm.sampler[req.Path] = append([]float32(nil), hm.tr.Model.Params...)
		s.keep(hm, "sampler_weights/"+req.Path)
		return weightsOutput{Path: tinkerPath{req.ModelID, "sampler_weights", req.Path}.String(), Type: "save_weights_for_sampler"}, nil
	}, req.ModelID, nil
}

func (s *Server) saveWeights(w http.ResponseWriter, r *http.Request) (func(*heldModel) (any, error), string, error) {
	req, err := s.decodeSave(w, r)
	if err != nil {
		return nil, "", err
	}
	return func(hm *heldModel) (any, error) {
		t := hm.tr
		hm.states[req.Path] = &trainState{params: append([]float32(nil), t.Model.Params...),
			m: append([]float32(nil), t.M...), v: append([]float32(nil), t.V...), step: t.Step}
		s.keep(hm, "weights/"+req.Path)
		return weightsOutput{Path: tinkerPath{req.ModelID, "weights", req.Path}.String(), Type: "save_weights"}, nil
	}, req.ModelID, nil
}

func (s *Server) loadWeights(w http.ResponseWriter, r *http.Request) (func(*heldModel) (any, error), string, error) {
	var req weightsRequest
	if err := s.decode(w, r, &req); err != nil {
		return nil, "", err
	}
	p, err := parseTinkerPath(req.Path)
	if err != nil || p.kind != "weights" {
		return nil, "", errStatus(http.StatusBadRequest, "request.path must be in format tinker://source_model_id/weights/checkpoint_id")
	}
	return func(hm *heldModel) (any, error) {
		src := s.models[p.model]
		if src == nil || src.states[p.id] == nil {
			return nil, fmt.Errorf("checkpoint not found: %s/%s", p.model, p.id)
		}
		st, t := src.states[p.id], hm.tr
		if len(st.params) != len(t.Model.Params) {
			return nil, fmt.Errorf("checkpoint %s/%s is of another model shape", p.model, p.id)
		}
		copy(t.Model.Params, st.params)
		copy(t.M, st.m)
		copy(t.V, st.v)
		t.Step = st.step
		clear(t.Grads)
		return weightsOutput{Type: "load_weights"}, nil
	}, req.ModelID, nil
}

// keep records a saved checkpoint and drops the model's oldest beyond
// the bound. The caller holds s.mu.
func (s *Server) keep(hm *heldModel, key string) {
	for i, k := range hm.saved {
		if k == key {
			hm.saved = append(hm.saved[:i], hm.saved[i+1:]...)
			break
		}
	}
	hm.saved = append(hm.saved, key)
	for len(hm.saved) > s.cfg.MaxSaved {
		kind, id, _ := strings.Cut(hm.saved[0], "/")
		if kind == "weights" {
			delete(hm.states, id)
		} else {
			delete(hm.sampler, id)
		}
		hm.saved = hm.saved[1:]
	}
}

// archive answers as SkyRL does: a redirect to the download.
func (s *Server) archive(w http.ResponseWriter, r *http.Request) {
	if !validID(r.PathValue("model")) || !validID(r.PathValue("id")) {
		writeError(w, errStatus(http.StatusUnprocessableEntity, "bad model or checkpoint id"))
		return
	}
	http.Redirect(w, r, API+"training_runs/"+r.PathValue("model")+"/checkpoints/"+r.PathValue("id")+"/download", http.StatusFound)
}

// download writes a sampler checkpoint as a tar.gz of the files
// model.Save writes (config.json, model.safetensors), stored without
// compression: float weights barely compress and this is loopback's
// hot path.
func (s *Server) download(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	hm := s.models[r.PathValue("model")]
	var params []float32
	var cfg model.Config
	if hm != nil {
		params, cfg = hm.sampler[r.PathValue("id")], hm.tr.Model.Config
	}
	s.mu.Unlock()
	if params == nil {
		writeError(w, errStatus(http.StatusNotFound, "checkpoint not found: %s/%s", r.PathValue("model"), r.PathValue("id")))
		return
	}
	dir, err := os.MkdirTemp("", "sleuth-tinker-")
	if err != nil {
		writeError(w, errStatus(http.StatusInternalServerError, "%v", err))
		return
	}
	defer os.RemoveAll(dir)
	m, err := model.New(cfg, params)
	if err == nil {
		err = m.Save(dir)
	}
	if err != nil {
		writeError(w, errStatus(http.StatusInternalServerError, "sampler weights: %v", err))
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", r.PathValue("model")+"_"+r.PathValue("id")+".tar.gz"))
	if err := writeTarGz(w, dir); err != nil {
		s.cfg.Logger.Warn("tinker: writing an archive", "err", err)
	}
}

func writeTarGz(w io.Writer, dir string) error {
	zw, err := gzip.NewWriterLevel(w, gzip.NoCompression)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(zw)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: e.Name(), Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		if _, err := tw.Write(b); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}
