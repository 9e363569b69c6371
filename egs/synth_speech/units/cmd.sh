# cmd.sh: how the stages run their jobs. run.pl runs them on this machine; slurm.pl submits them to
# a Slurm cluster with the same arguments. Both accept --num-threads N, --mem SIZE, --gpu N,
# --time T and --max-jobs-run N (run.pl uses --num-threads and --max-jobs-run, ignores the rest).
export train_cmd="run.pl"   # training
export decode_cmd="run.pl"  # corpus, export, tokenize/detokenize, scoring
# On a Slurm cluster, for example:
# export train_cmd="slurm.pl --gpu 1 --num-threads 8 --mem 32G --time 48:00:00"
# export decode_cmd="slurm.pl --num-threads 4 --mem 8G"
