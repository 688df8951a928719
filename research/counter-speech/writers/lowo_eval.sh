#!/bin/bash
# usage: lowo_eval.sh W  -> scores of writer W's texts by the model trained without W
W=$1; cd /work/main; source .venv/bin/activate
cat data/text/{en,fr,ar}-writer-$W.jsonl > /tmp/exp3/w$W-all.jsonl
bastion classify --input /tmp/exp3/w$W-all.jsonl --output /tmp/exp3/w$W-scored.jsonl --model /tmp/exp3/lowo-$W.npz --no-explain 2>&1 | tail -2
