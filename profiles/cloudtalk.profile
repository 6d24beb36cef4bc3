# CloudTalk user types (seed: cloudtalk-user-roles.txt).
#
# Role ids are fixed.  Checked by tests/test-profile-cloudtalk.c, which
# restates the whole matrix below as a table.
#
# The page's feature matrix lost its tick marks: only the row and column
# names survive, with two "✅❓" cells (Admin: request and port numbers,
# billing) explained in the text.  Every cell below is therefore decided
# from the user type's description:
#   Admin          "the highest level of access privilege ... configure
#                  global account settings and add or remove other users":
#                  every row, except that numbers and billing hold only
#                  where the company has no Admin Partner.
#   Admin Partner  "only has access to billing and number request
#                  information for their connected accounts": the Numbers
#                  screen, requesting and porting numbers, and billing.
#   Supervisor     "manage campaigns and use call monitor ... some overview
#                  of their agents, but not ... account configuration": the
#                  dashboard, analytics and statistics, the Users and Groups
#                  screens (seeing, not changing), the dialer including
#                  campaigns, scripts and surveys, contacts including bulk
#                  deletion, creating and assigning contact tags, contact
#                  notes, the call monitor, listing call tags.
#   Analyst        "primarily ... viewing analytics data and statistics":
#                  the dashboard, analytics and statistics, listing call
#                  tags (statistics are broken down by them).
#   Agent          "add, edit, and remove contacts, as well as participate
#                  in active campaigns they have been assigned to": the
#                  dashboard, contacts (not bulk deletion), assigning contact
#                  tags, contact notes, listing call tags, and the dialer
#                  rows "within assigned campaign" (scope: assigned).
# "Access for analysts and supervisors will vary depending on your company
# settings": they get analytics.view here; narrow a user with --only.  The
# AI Analytics report needs Conversation Intelligence: a grant conditional on
# the account attribute conversation-intelligence=on.  The rows "(API only)"
# are ordinary permissions: the API asks callrole like the dashboard does.
#
# Ranks: Agent 10 < Analyst 20 < Supervisor 30 < Admin 50 < Admin Partner
# 60.  "Admin cannot add users of the admin partner type. They also cannot
# see existing admin partners in the list of users": ranking the partner
# above the admin gives both through callrole's hierarchy.  Admins add the
# other types; Admins themselves are added by a callrole administrator.
#
# Seats: give the account its seats ('callrolectl account add co --seats
# 10'); adding a user to a full account is refused (EDQUOT).
profile cloudtalk "CloudTalk"

permission dashboard.statistics.view "See statistics for the selected period (dashboard)"
permission dashboard.call_history.view "See the recent call history (dashboard)"
permission analytics.ai.view "See the AI Analytics report (Conversation Intelligence)"
permission statistics.call_history.view "Statistics: call history"
permission statistics.inbound.view "Statistics: inbound"
permission statistics.outbound.view "Statistics: outbound"
permission statistics.agents.view "Statistics: agents"
permission statistics.happiness.view "Statistics: happiness"
permission statistics.tags.view "Statistics: tags"
permission statistics.wallboards.view "Statistics: wallboards"
permission statistics.realtime.view "Statistics: realtime dashboard"
permission groups.view "Open the Groups screen"
permission groups.create "Add groups"
permission groups.edit "Edit groups"
permission groups.delete "Delete groups"
permission numbers.edit "Edit numbers"
permission dialer.scripts.read "Read the call script of a campaign"
permission dialer.scripts.manage "Manage call scripts"
permission dialer.power_dialer.use "Start calling for a campaign via the power dialer"
permission dialer.surveys.manage "Manage surveys"
permission dialer.surveys.fill "Fill in a campaign's survey"
permission contacts.view "Open the Contacts screen"
permission contacts.create "Add contacts"
permission contacts.delete "Delete contacts"
permission contacts.bulk_delete "Delete contacts in bulk"
permission contact_tags.create "Create contact tags"
permission contact_tags.assign "Assign and unassign contact tags"
permission contact_tags.edit "Edit contact tags (API only)"
permission contact_tags.delete "Delete contact tags (API only)"
permission contact_notes.add "Add contact notes"
permission contact_notes.edit "Edit contact notes"
permission contact_notes.delete "Delete contact notes"
permission conferences.manage "Conference (legacy dashboard)"
permission workflows.manage "Workflow automations"
permission call_tags.view "List call tags (dispositions)"
permission call_tags.create "Create call tags"
permission call_tags.edit "Edit call tags"
permission call_tags.delete "Delete call tags"

role agent 10 "Agent"
grant login dashboard.statistics.view dashboard.call_history.view
grant dialer.scripts.read@assigned dialer.power_dialer.use@assigned dialer.surveys.fill@assigned
grant contacts.view contacts.create contacts.edit contacts.delete
grant contact_tags.assign contact_notes.add contact_notes.edit contact_notes.delete
grant call_tags.view

role analyst 20 "Analyst"
grant login dashboard.statistics.view dashboard.call_history.view
grant analytics.view analytics.ai.view/account.conversation-intelligence=on
grant statistics.call_history.view statistics.inbound.view statistics.outbound.view statistics.agents.view
grant statistics.happiness.view statistics.tags.view statistics.wallboards.view statistics.realtime.view
grant call_tags.view

role supervisor 30 "Supervisor"
grant login dashboard.statistics.view dashboard.call_history.view
grant analytics.view analytics.ai.view/account.conversation-intelligence=on
grant statistics.call_history.view statistics.inbound.view statistics.outbound.view statistics.agents.view
grant statistics.happiness.view statistics.tags.view statistics.wallboards.view statistics.realtime.view
grant users.view groups.view
grant dialer.scripts.read dialer.scripts.manage campaigns.manage dialer.power_dialer.use@assigned
grant dialer.surveys.manage dialer.surveys.fill@assigned
grant contacts.view contacts.create contacts.edit contacts.delete contacts.bulk_delete
grant contact_tags.create contact_tags.assign contact_notes.add contact_notes.edit contact_notes.delete
grant call_monitor.join call_tags.view

role admin 50 "Admin"
grant login dashboard.statistics.view dashboard.call_history.view
grant analytics.view analytics.ai.view/account.conversation-intelligence=on
grant statistics.call_history.view statistics.inbound.view statistics.outbound.view statistics.agents.view
grant statistics.happiness.view statistics.tags.view statistics.wallboards.view statistics.realtime.view
grant users.view users.create users.edit users.delete
grant groups.view groups.create groups.edit groups.delete
grant numbers.view numbers.edit numbers.request/no-role=admin-partner numbers.port/no-role=admin-partner
grant dialer.scripts.read dialer.scripts.manage campaigns.manage dialer.power_dialer.use@assigned
grant dialer.surveys.manage dialer.surveys.fill@assigned
grant contacts.view contacts.create contacts.edit contacts.delete contacts.bulk_delete
grant contact_tags.create contact_tags.assign contact_tags.edit contact_tags.delete
grant contact_notes.add contact_notes.edit contact_notes.delete
grant call_monitor.join
grant billing.invoices.view/no-role=admin-partner billing.payment.edit/no-role=admin-partner
grant conferences.manage integrations.edit settings.edit workflows.manage
grant call_tags.view call_tags.create call_tags.edit call_tags.delete

role admin-partner 60 "Admin Partner"
grant login numbers.view numbers.request numbers.port billing.invoices.view billing.payment.edit
