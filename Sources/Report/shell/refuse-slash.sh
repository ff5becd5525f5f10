
# On the rescue system itself ROOT=/ would repair the rescue system, not the target.
if [ "$ROOT" = / ]; then
    die "ROOT is /, the system this script runs on; mount the target elsewhere and run: ROOT=/path sh $0"
fi
