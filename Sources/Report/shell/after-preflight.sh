
if [ "$REFUSED" -gt 0 ]; then
    die "$REFUSED step(s) refused; nothing was changed."
fi
if [ "$PENDING" -eq 0 ]; then
    say "Nothing to do: every repair in this script is already in place."
    exit 0
fi
if [ "$DRY_RUN" = 1 ]; then
    say "DRY_RUN=1: showing what would be done; nothing is changed."
else
    # Something will change: make the backup directory now so the log has every step.
    ensure_backup
    say "Repair started $(date -u +%Y-%m-%dT%H:%M:%SZ) on $ROOT (plan $PLAN_ID)"
fi
