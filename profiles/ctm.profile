# CallTrackingMetrics (CTM) user roles (seeds: ctm-user-roles.txt, and the
# older ctm-user-roles-2015.txt where the newer page is silent).
#
# Role ids are fixed.  Checked by tests/test-profile-ctm.c.
#
# Ranks: Call Agent 10 < Billing Manager 15 < Call Manager 20 < Agency
# Billing Manager 25 < Report Manager 30 < Marketing Manager 35 <
# Administrator 70 < Agency Administrator 90.  "You can only update roles
# that are lower than your own", and Agency Administrators "are hidden in
# the user list for all lower access levels": callrole's hierarchy gives
# both (a user sees users ranked at most their own, and changes only users
# ranked below).
#
# How the account is described (attributes, set with 'callrolectl account
# set A --attr KEY=VALUE'):
#   kind=agency         an agency (an account with sub-accounts is one
#                       anyway); the agency-only roles are held there and
#                       apply in every sub-account;
#   billing=customer    the account pays itself: its Administrators see
#                       invoices and edit payment details, and get billing
#                       notifications;
#   billing=agency      agency-shared billing: the Agency Billing Manager
#                       handles it, sub-account Administrators do not.
# An account that says neither gives nobody but the Agency Administrator
# payment rights (fail closed).  Sub-accounts inherit the agency's value
# unless they set their own.
#
# Access-control groups: the grants of Call Agents, Call Managers and Report
# Managers carry the acg scope, so a membership listing access-control
# groups (--acg) narrows what they see to those groups; a membership listing
# none is not narrowed.
#
# Agency feature access: 'callrolectl account set AGENCY --hide PERM' hides
# a feature from every user of the agency's sub-accounts, administrators
# included (policy: hidden-by-agency).
#
# Decisions where the pages are silent or disagree:
#   - Call Agents, Call Managers and Report Managers may see users ("what
#     they can not see: ... any user with higher access than them", 2015
#     page): users.view, limited by rank like everyone's.
#   - The Marketing Manager's "specific integrations (Google Ads, Facebook,
#     HubSpot, ...)" are ctm.marketing_integrations.edit, not
#     integrations.edit: "Administrators ... are the only users able to
#     access integration settings".  Its "read-only access to tracking
#     numbers" is numbers.view (the page's "only administrators can view
#     tracking numbers" is read as the numbers screen with its actions).
#   - The Report Manager's real-time agents dashboard exists "for plans that
#     allow creating sub-accounts": a grant conditional on kind=agency.
#   - A sub-account Administrator's invoices are payment information: like
#     payment details, only on customer billing.
profile ctm "CallTrackingMetrics"

permission ctm.forms.view "See FormReactor submissions in the call log"
permission ctm.chats.view "See chats in the call log"
permission ctm.activities.exclude "Flag activities and exclude them"
permission ctm.blocked_callers.edit "Edit the blocked callers list"
permission ctm.do_not_call.edit "Edit the do-not-call list"
permission ctm.call_scoring.edit "Edit call scoring options"
permission ctm.flows.view "See activities' flows"
permission ctm.reports.schedule "Schedule call reports"
permission ctm.realtime_agents.view "See the real-time agents dashboard"
permission ctm.sources.view "See tracking sources and their configuration"
permission ctm.formreactor.use "Use FormReactors, their embed widget and chat"
permission ctm.triggers.edit "Create and edit triggers"
permission ctm.marketing_integrations.edit "Edit marketing integrations (Google Ads, Facebook, HubSpot, Bing, ...)"
permission numbers.edit "Edit and configure tracking numbers"

# "In Growth, Connect, Sales Engage, and Enterprise plans, all account users
# except for Marketing Manager, Agency Billing Manager, and Billing Manager
# will have access to the CTM softphone": the softphone is in those plans and
# in no other.  starter stands for any other plan.
plan starter login calls.* texts.* reports.* numbers.* users.* billing.* recordings.* integrations.* settings.* agency.* contacts.* analytics.* ctm.*
plan growth *
plan connect *
plan sales-engage *
plan enterprise *

# Administrators (customer billing) get billing notifications.
notification billing requires billing.invoices.view

role call-agent 10 "Call Agent"
grant login softphone.use users.view
grant calls.view@assigned+acg calls.listen@assigned+acg texts.view@assigned+acg
grant ctm.forms.view@assigned+acg ctm.chats.view@assigned+acg

role billing-manager 15 "Billing Manager"
grant login billing.invoices.view

role call-manager 20 "Call Manager"
grant login softphone.use users.view
grant calls.view@acg calls.listen@acg texts.view@acg ctm.forms.view@acg ctm.chats.view@acg
grant texts.send contacts.edit ctm.activities.exclude
grant ctm.blocked_callers.edit ctm.do_not_call.edit ctm.call_scoring.edit

role agency-billing-manager 25 "Agency Billing Manager" agency-only
grant login billing.invoices.view/account.billing=agency billing.payment.edit/account.billing=agency

role report-manager 30 "Report Manager"
grant login softphone.use users.view
grant calls.view@acg calls.listen@acg calls.export@acg texts.view@acg ctm.forms.view@acg ctm.chats.view@acg
grant ctm.flows.view@acg texts.send contacts.edit ctm.activities.exclude
grant reports.view_tab reports.edit ctm.reports.schedule analytics.view
grant ctm.realtime_agents.view/account.kind=agency
grant ctm.blocked_callers.edit ctm.do_not_call.edit ctm.call_scoring.edit

# "Marketing Managers cannot make or receive calls": no softphone.use.
role marketing-manager 35 "Marketing Manager" agency-only
grant login numbers.view ctm.sources.view calls.view ctm.forms.view ctm.chats.view ctm.formreactor.use
grant reports.view_tab reports.edit ctm.triggers.edit ctm.marketing_integrations.edit

role administrator 70 "Administrator"
grant login softphone.use calls.view calls.listen calls.export texts.view texts.send contacts.edit
grant ctm.forms.view ctm.chats.view ctm.activities.exclude ctm.flows.view ctm.sources.view
grant reports.view_tab reports.edit ctm.reports.schedule analytics.view
grant numbers.view numbers.purchase numbers.edit numbers.request numbers.port
grant recordings.configure integrations.edit ctm.marketing_integrations.edit settings.edit
grant users.view users.create users.edit users.delete
grant billing.invoices.view/account.billing=customer billing.payment.edit/account.billing=customer
grant ctm.formreactor.use ctm.triggers.edit
grant ctm.blocked_callers.edit ctm.do_not_call.edit ctm.call_scoring.edit

role agency-administrator 90 "Agency Administrator" agency-only
grant login softphone.use calls.view calls.listen calls.export texts.view texts.send contacts.edit
grant ctm.forms.view ctm.chats.view ctm.activities.exclude ctm.flows.view ctm.sources.view
grant reports.view_tab reports.edit ctm.reports.schedule analytics.view ctm.realtime_agents.view
grant numbers.view numbers.purchase numbers.edit numbers.request numbers.port
grant recordings.configure integrations.edit ctm.marketing_integrations.edit settings.edit
grant users.view users.create users.edit users.delete
grant billing.invoices.view billing.payment.edit
grant ctm.formreactor.use ctm.triggers.edit
grant ctm.blocked_callers.edit ctm.do_not_call.edit ctm.call_scoring.edit
grant agency.settings.edit agency.accounts.create agency.cancel
