# stand-ins for your model's files, and model.yaml, the metadata that describes the model
mkdir -p model
printf 'weights after the first training' > model/weights.bin
echo '{"hidden_size": 768, "labels": ["negative", "positive"]}' > model/config.json
cat > model.yaml <<'EOF'
name: bert          # the model this file describes (must match the registered name)
version: 1.0.0      # required by the format; register numbers versions itself
description: sentiment of product reviews
tags: [nlp, reviews]
technical:
  framework: {name: pytorch, version: 2.3.1}
  signature:
    inputs: [{name: input_ids, dtype: int64, shape: [-1, 512]}]
    outputs: [{name: label, dtype: int64}, {name: probs, dtype: float32, shape: [-1, 2]}]
EOF

modelkeep init                                   # makes .modelkeep/ here, like git
modelkeep register bert ./model --metadata model.yaml --param lr=3e-5 --metric accuracy=0.91
printf 'weights retrained on more reviews' > model/weights.bin
modelkeep register bert ./model --bump minor     # model.yaml is inherited; default bump: what changed
modelkeep register bert ./model                  # nothing changed: no new version (exit 0)
modelkeep list bert
echo 'required: [description, technical.signature]' > gate.yaml   # what production needs
modelkeep validate bert@1.0.0 --policy gate.yaml  # production moves only onto validated versions
modelkeep alias set bert production 1.0.0
sleep 1; moment=$(date -u +%Y-%m-%dT%H:%M:%SZ); sleep 1   # a time to ask about later
modelkeep validate bert@1.1.0 --policy gate.yaml
modelkeep alias set bert production 1.1.0
modelkeep show bert@production --at "$moment"    # 1.0.0: where production pointed then
modelkeep alias history bert production          # every move with its time (for --at)
modelkeep diff bert@1.0.0 bert@production
modelkeep export bert@production --format yaml
modelkeep checkout bert@production ./serving
modelkeep fsck
