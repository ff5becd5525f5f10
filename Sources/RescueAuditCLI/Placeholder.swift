// RescueAuditCLI
