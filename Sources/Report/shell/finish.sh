
if [ "$DRY_RUN" = 1 ]; then
    say "DRY_RUN=1: nothing was changed."
else
    say "Done. The log, the old files and undo.sh are in $BK"
    say "To undo: sh $BK/undo.sh"
fi
