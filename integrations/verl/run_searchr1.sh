#!/usr/bin/env bash
# verl's multi-turn Search-R1 recipe with sleuth's tools and reward.
#   1. sleuth export verl --data train.jsonl --preset searchr1 --out $DATA --split train
#      sleuth export verl --data test.jsonl  --preset searchr1 --out $DATA --split test
#   2. sleuth serve --env searchr1 --index IDX --addr 127.0.0.1:8003 &
#   3. pip install -e integrations/verl; bash integrations/verl/run_searchr1.sh [more overrides]
# The settings follow verl's examples/sglang_multiturn/search_r1_like recipe;
# change the model, GPUs and batch sizes to yours.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
DATA="${DATA:-$HOME/data/sleuth-searchr1}"
export SLEUTH_ENV_URL="${SLEUTH_ENV_URL:-http://127.0.0.1:8003}"
python3 -m verl.trainer.main_ppo \
    algorithm.adv_estimator=grpo \
    data.train_files="$DATA/train.parquet" \
    data.val_files="$DATA/test.parquet" \
    data.train_batch_size=512 \
    data.max_prompt_length=4096 \
    data.max_response_length=3000 \
    data.filter_overlong_prompts=True \
    data.truncation=error \
    data.return_raw_chat=True \
    actor_rollout_ref.model.path="${MODEL:-Qwen/Qwen2.5-3B-Instruct}" \
    actor_rollout_ref.actor.optim.lr=1e-6 \
    actor_rollout_ref.actor.ppo_mini_batch_size=256 \
    actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=8 \
    actor_rollout_ref.actor.use_kl_loss=True \
    actor_rollout_ref.actor.kl_loss_coef=0.001 \
    actor_rollout_ref.rollout.name="${ROLLOUT:-vllm}" \
    actor_rollout_ref.rollout.n=5 \
    actor_rollout_ref.rollout.multi_turn.enable=True \
    actor_rollout_ref.rollout.multi_turn.max_assistant_turns=6 \
    actor_rollout_ref.rollout.multi_turn.format=hermes \
    actor_rollout_ref.rollout.multi_turn.tool_config_path="$HERE/config/search_tool_config.yaml" \
    actor_rollout_ref.rollout.agent.default_agent_loop=tool_agent \
    reward.custom_reward_function.path="$HERE/sleuth_verl/reward.py" \
    reward.custom_reward_function.name=compute_score \
    trainer.n_gpus_per_node="${GPUS:-8}" \
    trainer.nnodes=1 \
    trainer.total_epochs=1 \
    "$@"
