# Dashboard access: user roles of a call-center dashboard (seed:
# dashboard-access-roles.txt).
#
# Role ids are fixed.  Checked by tests/test-profile-dashboard-access.c.
#
# Ranks: no rights 0 < Accountant, Supervisor, Technical 30 < Admin 50 <
# Superadministrator 100.  "Only the superadministrator can grant this role
# [Admin]" and "an administrator cannot modify the access of another
# administrator": callrole's hierarchy (only a strictly higher rank grants a
# role or changes its holder) gives both, since only the Superadministrator
# ranks above Admin.
#
# Pages are permissions.  The Supervisor's grants carry the groups and ivrs
# scopes: "they will only have access to data for groups/IVRs authorised by
# the administrator" (--groups and --ivrs of the membership).  Both scopes
# are on one grant, so data must be within the authorised groups and the
# authorised IVRs wherever it has a group or an IVR: the safe reading (two
# alternative grants would let a call of an unauthorised group through
# whenever it carried no IVR).
#
# "Supervisor access rights pages options" and "Technical access rights
# pages options" are per-user: a membership narrows its role to some pages
# with --only, e.g. --only 'login,activity.view,logs.view'.  (--only narrows
# every permission, login included, so list login.)
#
# Decisions where the page is silent:
#   - The Supervisor gets Task management too ("pages options" list it,
#     the sentence before does not).
#   - Technical "create IVRs, users, groups, and numbers": users.create with
#     the rank rule means users without dashboard rights (rank below 30):
#     granting a dashboard role is the Admin's.  Numbers are bought
#     (numbers.purchase) and edited (numbers.edit).
#   - Technical's "Other" page is the account's settings (settings.edit).
#   - The Accountant's "Credits and billing" page adds credits and downloads
#     invoices: billing.credits.add and billing.invoices.view.
#   - "no rights" is a role without grants: the user exists, cannot log in.
profile dashboard-access "Dashboard access"

permission activity.view "Activity page"
permission logs.view "Logs page (calls)"
permission tasks.manage "Task management page"
permission billing.credits.add "Add credits (Credits and billing page)"
permission ivrs.edit "Create and change IVRs"
permission conferences.manage "Audio conferences"
permission groups.view "Open the Groups screen"
permission groups.create "Add groups"
permission groups.edit "Edit groups"
permission groups.delete "Delete groups"
permission numbers.edit "Edit numbers"
permission call_tags.view "List call tags (dispositions)"
permission call_tags.create "Create call tags"
permission call_tags.edit "Edit call tags"
permission call_tags.delete "Delete call tags"
permission snoozes.edit "Snoozes"
permission blocked_numbers.edit "Blocked numbers"
permission contacts.view "Open the Contacts screen"
permission developer.access "Developer page (API keys, webhooks)"
permission action_logs.view "Actions logs"
permission brands.edit "Brands"

role no-rights 0 "No rights"

role accountant 30 "Accountant"
grant login billing.credits.add billing.invoices.view

role supervisor 30 "Supervisor"
grant login activity.view@groups+ivrs logs.view@groups+ivrs analytics.view@groups+ivrs
grant campaigns.manage@groups+ivrs tasks.manage@groups+ivrs

role technical 30 "Technical"
grant login users.view users.create users.edit users.delete numbers.view numbers.purchase numbers.edit
grant ivrs.edit conferences.manage groups.view groups.create groups.edit groups.delete
grant call_tags.view call_tags.create call_tags.edit call_tags.delete snoozes.edit blocked_numbers.edit
grant contacts.view contacts.edit developer.access integrations.edit action_logs.view brands.edit settings.edit

role admin 50 "Admin"
grant login activity.view logs.view analytics.view campaigns.manage tasks.manage
grant billing.credits.add billing.invoices.view
grant users.view users.create users.edit users.delete numbers.view numbers.purchase numbers.edit
grant ivrs.edit conferences.manage groups.view groups.create groups.edit groups.delete
grant call_tags.view call_tags.create call_tags.edit call_tags.delete snoozes.edit blocked_numbers.edit
grant contacts.view contacts.edit developer.access integrations.edit action_logs.view brands.edit settings.edit

role superadministrator 100 "Superadministrator"
grant login activity.view logs.view analytics.view campaigns.manage tasks.manage
grant billing.credits.add billing.invoices.view
grant users.view users.create users.edit users.delete numbers.view numbers.purchase numbers.edit
grant ivrs.edit conferences.manage groups.view groups.create groups.edit groups.delete
grant call_tags.view call_tags.create call_tags.edit call_tags.delete snoozes.edit blocked_numbers.edit
grant contacts.view contacts.edit developer.access integrations.edit action_logs.view brands.edit settings.edit
