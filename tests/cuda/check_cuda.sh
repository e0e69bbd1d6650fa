#!/bin/sh
# The cuda plugin on this machine. Where it cannot run (no driver, no
# device, too old a GPU) it must be listed with score 0 and a reason: the
# test prints the reason and skips (77). Where a GPU could run it, the
# conformance suite runs on it, and a plugin that still declines fails.
bin=$1 conf=$2
line=$("$bin" plugins 2>&1 | grep -E '^[* ] cuda ')
[ -n "$line" ] || { echo "FAIL: 'bitnet plugins' does not list the cuda plugin"; "$bin" plugins; exit 1; }
score=$(echo "$line" | awk '{print ($1 == "*") ? $3 : $2}')
reason=$(echo "$line" | sed -E 's/^[* ] cuda +[0-9]+ +[^ ]+ +[^ ]+ +//')
echo "bitnet plugins: $line"
if [ "$score" = 0 ]; then
    case $reason in
    "no NVIDIA driver"* | "no CUDA device"* | *"compute capability"* | "NVIDIA driver supports CUDA"*)
        echo "SKIP: no GPU here that the cuda plugin can use: $reason"
        exit 77 ;;
    "")
        echo "FAIL: the cuda plugin scores 0 without saying why"; exit 1 ;;
    *)
        echo "FAIL: a GPU is here but the cuda plugin declines it: $reason"; exit 1 ;;
    esac
fi
BN_CONFORMANCE_PLUGINS=cuda "$conf"
