# undo.sh lives in <root>/var/backups/rescue-audit/<time>/ (or wherever
# a symlinked /var/backups led): the root is wherever the target is
# mounted now, empty when it runs on the target itself.
ROOT=$BK
i=0
while [ "$i" -lt "$BACKUP_DEPTH" ]; do
    ROOT=${ROOT%/*}
    i=$((i + 1))
done
if [ -L "$ROOT/etc" ] || [ ! -d "$ROOT/etc" ]; then
    die "$ROOT/etc is not a directory; undo.sh must stay in <root>/var/backups/rescue-audit/<time>/"
fi
steps
if [ "$REFUSED" -gt 0 ]; then die "$REFUSED step(s) refused; nothing was changed."; fi
PASS=apply
steps
if [ "$DRY_RUN" = 1 ]; then say "DRY_RUN=1: nothing was changed."; else say "Undo complete."; fi
