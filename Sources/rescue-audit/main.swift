import RescueAuditCLI
RescueAudit.main()
