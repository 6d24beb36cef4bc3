# Calltracks user roles (seed: calltracks-user-roles.txt).
#
# Ranks: the viewing roles share rank 10, Read Only 20, Read/Write 30, and
# the administrative roles climb Local Manager 40 < Customer Local Admin 50
# < Customer Super Admin 60, so each admin creates only users below itself.
# No Access has rank 0 and no grants at all: the user exists (questionnaires,
# outbound recording refer to them) but cannot log in.
profile calltracks "Calltracks"

permission reports.summary.view "See the summary reports"
permission reports.adverts.view "See the advert performance reports"
permission adverts.edit "Create Calltracks adverts (obtains a new tracking number)"
permission prospects.edit "Create and upload prospect lists"
permission pins.edit "Set up PIN numbers for outbound calls"

# "A new role as a minimum must contain 'view tab' and at least one 'view'
# subsection within the reporting checkboxes", and the reports tab without
# a report errors in the product, so the rule runs both ways.
rule reports.view_tab requires reports.*.view
rule reports.*.view requires reports.view_tab

role no-access 0 "No Access"

role calls-only 10 "Calls Only"
grant login calls.view calls.listen

role view-inbound-calls-only 10 "View Inbound Calls Only"
grant login calls.view@direction=inbound calls.listen@direction=inbound

role view-outbound-calls-only 10 "View Outbound Calls Only"
grant login calls.view@direction=outbound calls.listen@direction=outbound

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
