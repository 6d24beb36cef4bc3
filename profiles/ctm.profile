# CallTrackingMetrics (CTM) user roles (seeds: ctm-user-roles*.txt).
#
# Ranks: Call Agent 10 < Billing Manager 15 < Call Manager 20 < Agency
# Billing Manager 25 < Report Manager 30 < Marketing Manager 35 <
# Administrator 70 < Agency Administrator 90.  "You can only update roles
# that are lower than your own", and agency administrators are hidden from
# every lower role, which the rank rule gives.
#
# Access-control groups (acg) narrow what agents, managers and report
# managers see; a membership without any acg is not narrowed.
profile ctm "CallTrackingMetrics"

permission ctm.blocked_callers.edit "Edit the blocked callers list"
permission ctm.do_not_call.edit "Edit the do-not-call list"
permission ctm.call_scoring.edit "Edit call scoring options"
permission ctm.formreactor.use "Use FormReactors and chat"

# The softphone comes with Growth, Connect, Sales Engage and Enterprise.
plan starter login calls.* texts.* reports.* numbers.* users.* billing.* recordings.* integrations.* settings.* agency.* contacts.* analytics.* ctm.*
plan growth *
plan connect *
plan sales-engage *
plan enterprise *

role call-agent 10 "Call Agent"
grant login softphone.use calls.view@assigned+acg calls.listen@assigned+acg texts.view@assigned+acg

role billing-manager 15 "Billing Manager"
grant login billing.invoices.view

role call-manager 20 "Call Manager"
grant login softphone.use calls.view@acg calls.listen@acg texts.view@acg texts.send contacts.edit
grant ctm.blocked_callers.edit ctm.do_not_call.edit ctm.call_scoring.edit

role agency-billing-manager 25 "Agency Billing Manager"
grant login billing.invoices.view billing.payment.edit/account.billing=agency

role report-manager 30 "Report Manager"
grant login softphone.use calls.view@acg calls.listen@acg calls.export@acg texts.view@acg texts.send
grant contacts.edit reports.view_tab reports.edit analytics.view
grant ctm.blocked_callers.edit ctm.do_not_call.edit ctm.call_scoring.edit

# Marketing Managers cannot make or receive calls.
role marketing-manager 35 "Marketing Manager"
grant login numbers.view calls.view reports.view_tab reports.edit integrations.edit ctm.formreactor.use

role administrator 70 "Administrator"
grant login softphone.use calls.view calls.listen calls.export texts.view texts.send contacts.edit
grant reports.view_tab reports.edit analytics.view numbers.view numbers.purchase numbers.request numbers.port
grant recordings.configure integrations.edit settings.edit users.view users.create users.edit users.delete
grant billing.invoices.view billing.payment.edit/account.billing=customer ctm.formreactor.use
grant ctm.blocked_callers.edit ctm.do_not_call.edit ctm.call_scoring.edit

role agency-administrator 90 "Agency Administrator"
grant login softphone.use calls.view calls.listen calls.export texts.view texts.send contacts.edit
grant reports.view_tab reports.edit analytics.view numbers.view numbers.purchase numbers.request numbers.port
grant recordings.configure integrations.edit settings.edit users.view users.create users.edit users.delete
grant billing.invoices.view billing.payment.edit ctm.formreactor.use
grant ctm.blocked_callers.edit ctm.do_not_call.edit ctm.call_scoring.edit
grant agency.settings.edit agency.accounts.create agency.cancel
