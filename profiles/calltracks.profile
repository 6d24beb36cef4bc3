# Calltracks user roles (seed: calltracks-user-roles.txt).
#
# Role ids are fixed (scripts and host software rely on them).  Checked by
# tests/test-profile-calltracks.c.
#
# Ranks: the viewing roles (Calls Only, the two direction-limited ones,
# Receptionist, Reporting Only) share rank 10, Read Only is 20 and
# Read/Write 30; the administrative roles climb Local Manager 40 < Customer
# Local Admin 50 < Customer Super Admin 60, so each creates and changes only
# users ranked below itself (a Local Manager cannot make a Customer Local
# Admin; a Customer Local Admin can make "more than a standard Read/Write
# user", up to Local Manager).  No Access has rank 0 and no grants at all:
# the user exists (the questionnaire facility and outbound recording refer
# to them) but cannot log in.
#
# Decisions where the page is silent:
#   - "Read Only ... cannot make any changes": no *.edit, no users.*, no
#     numbers.request, nothing that creates.
#   - Read/Write "create Calltracks adverts to obtain a new phone number":
#     adverts.edit and numbers.request.
#   - The administrative roles include everything of Read/Write (the page
#     ranks them above it); Local Manager adds creating users, PIN numbers
#     for outbound calls and listening to recordings (already in Read Only);
#     Customer Local Admin adds deleting users; Customer Super Admin, "on
#     behalf of the rest of your organisation", adds the account's settings
#     and call-recording configuration.
#   - "Calls Only ... can't view any details other than what is already
#     provided on the Calls screen": calls.view and calls.listen, nothing
#     else (no export).
profile calltracks "Calltracks"

permission reports.summary.view "See the summary reports"
permission reports.adverts.view "See the advert performance reports"
permission adverts.edit "Create Calltracks adverts (obtains a new tracking number)"
permission prospects.edit "Create and upload prospect lists"
permission pins.edit "Set up PIN numbers for outbound calls"

# "A new role as a minimum must contain 'view tab' and at least one 'view'
# subsection within the reporting checkboxes", and the reports tab without
# a report errors in the product, so the rule runs both ways: a role with
# the tab needs a report, and a report needs the tab.
rule reports.view_tab requires reports.*.view
rule reports.*.view requires reports.view_tab

# The "Send email reminders for missed opportunities?" option: only for
# users who can open the Missed Opportunities report (never Calls Only, never
# No Access).  The page speaks of "either of the email options" for No
# Access without naming the second; it is taken to be the e-mail about
# calls, which needs the calls it links to.
notification missed-opportunities requires reports.missed_opportunities.view
notification call-alerts requires calls.view

role no-access 0 "No Access"

role calls-only 10 "Calls Only"
grant login calls.view calls.listen

role view-inbound-calls-only 10 "View Inbound Calls Only"
grant login calls.view@direction=inbound calls.listen@direction=inbound

role view-outbound-calls-only 10 "View Outbound Calls Only"
grant login calls.view@direction=outbound calls.listen@direction=outbound

# "the Missed Opportunity Report ONLY": the tab (which opens on that report)
# and the report.
role receptionist 10 "Receptionist"
grant login reports.view_tab reports.missed_opportunities.view

role reporting-only 10 "Reporting Only"
grant login reports.view_tab reports.summary.view reports.adverts.view reports.missed_opportunities.view

role read-only 20 "Read Only"
grant login calls.view calls.listen reports.view_tab reports.summary.view reports.adverts.view
grant reports.missed_opportunities.view

role read-write 30 "Read/Write"
grant login calls.view calls.listen reports.view_tab reports.summary.view reports.adverts.view
grant reports.missed_opportunities.view adverts.edit prospects.edit numbers.request

role local-manager 40 "Local Manager"
grant login calls.view calls.listen reports.view_tab reports.summary.view reports.adverts.view
grant reports.missed_opportunities.view adverts.edit prospects.edit numbers.request
grant users.view users.create users.edit pins.edit

role customer-local-admin 50 "Customer Local Admin"
grant login calls.view calls.listen reports.view_tab reports.summary.view reports.adverts.view
grant reports.missed_opportunities.view adverts.edit prospects.edit numbers.request
grant users.view users.create users.edit users.delete pins.edit

role customer-super-admin 60 "Customer Super Admin"
grant login calls.view calls.listen reports.view_tab reports.summary.view reports.adverts.view
grant reports.missed_opportunities.view adverts.edit prospects.edit numbers.request
grant users.view users.create users.edit users.delete pins.edit settings.edit recordings.configure
