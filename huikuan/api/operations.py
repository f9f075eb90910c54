"""The summary and the integrator-facing description of every API operation, by operation id.

``huikuan.api.schema.AutoSchema`` reads them (an ``extend_schema(summary=…, description=…)`` on the
view wins); view docstrings are for the code's readers and never reach the schema. A test refuses an
operation without both, so an endpoint added later comes with its text.
"""

PAGED = (" Paged: `page`/`page_size` (at most 500), or — for sync — `updated_since` and then `cursor` "
         "(`next_cursor` of the previous page) to read the rows in change order.")
SCOPE = " Only what the key's user may see (a key limited to one customer sees that customer only)."

OPERATIONS: dict[str, tuple[str, str]] = {
    # customers
    "customers_list": ("List customers",
                       "Customers with their open and unapplied balances, code order. Filter by `q` (code, name or "
                       "pinyin initials), `status`, `region` or `external_key`." + SCOPE + PAGED),
    "customers_create": ("Create a customer",
                         "Creates a customer. Payment terms beyond what the customer's credit grade allows are not "
                         "set: an approval request is recorded and returned in `terms_request`. A code already used "
                         "is 422 `duplicate_code`; an `external_key` already recorded is 409 "
                         "`duplicate_external_key` with the existing customer's id in `error.existing_id`."),
    "customers_retrieve": ("Get a customer", "One customer with its balances and `version`." + SCOPE),
    "customers_partial_update": ("Change a customer",
                                 "Changes the fields sent. Send the `version` you read: if someone saved in between "
                                 "the change is refused with 409 `conflict` and nothing is written."),
    "customers_contacts_list": ("List a customer's contacts", "The customer's contacts, primary first." + SCOPE),
    "contacts_list": ("List the contacts of all customers",
                      "Contacts of every customer in scope (customer, then primary first), with `updated_at`; filter "
                      "by `customer` or `active`. Read with `updated_since` and `cursor` to keep a CRM's contacts in "
                      "step: deactivated contacts come too (`is_active` false)." + SCOPE + PAGED),
    "customers_by_external_key_retrieve": ("Get a customer by your external key",
                                           "The customer recorded with `external_key` (your system's id for it, "
                                           "source `api`); 404 when none is recorded or it is outside the scope."),
    "customers_by_external_key_update": ("Create or update a customer by your external key (upsert)",
                                         "The sync write: when no customer carries `external_key` it is created "
                                         "(201; `code` and `name` required, 422 otherwise); when one does, the "
                                         "fields sent are changed (200) and the others are left as they are. "
                                         "`version` is optional: sent and stale, 409 `conflict`. Two "
                                         "requests creating the same key at once make one customer. A key held by "
                                         "a customer outside the scope is 409 `duplicate_external_key` (no id). "
                                         "The same checks as creating or changing a customer (422 `duplicate_code`,"
                                         " payment terms beyond the grade's maximum become an approval request in "
                                         "`terms_request`). Safe to repeat."),
    "customers_contacts_create": ("Add a contact", "Adds a contact person to the customer; `is_primary` makes it "
                                                   "the primary contact instead of the current one."),
    "customers_bank_accounts_list": ("List a customer's bank accounts",
                                     "The accounts the customer pays from; cash application recognises bank "
                                     "statement lines from them." + SCOPE),
    "customers_bank_accounts_create": ("Record a customer's bank account",
                                       "An account number recorded for another customer of the company is 409."),
    "customers_bank_accounts_retrieve": ("Get a customer's bank account", "One recorded account." + SCOPE),
    "customers_bank_accounts_partial_update": ("Change a customer's bank account",
                                               "Changes the fields sent; a number recorded for another customer "
                                               "is 409."),
    "customers_bank_accounts_destroy": ("Remove a customer's bank account",
                                        "Statement lines from it are no longer matched to the customer."),
    "customers_statement_retrieve": ("Get a customer statement",
                                     "The statement of account for a period (`from`, `to`): opening balance, "
                                     "movements, closing balance and aging. `format=pdf` returns the printable "
                                     "statement."),
    # ledger
    "documents_list": ("List receivable documents",
                       "Invoices and other receivable documents with their instalments (due dates, open amounts), "
                       "newest first. Filter by `customer`, `status`, `open`, `date_from`/`date_to`, `number` or "
                       "`external_key`." + SCOPE + PAGED),
    "documents_create": ("Post a receivable document",
                         "Posts an invoice (or another kind) from its lines or total. Without `instalments` the "
                         "schedule follows the payment terms; with them, they must add up to the total. A number "
                         "already used is 409 `duplicate_number`; an `external_key` already recorded is 409 "
                         "`duplicate_external_key` with the existing document's id. Honours `Idempotency-Key`."),
    "documents_retrieve": ("Get a receivable document", "One document with its instalments." + SCOPE),
    "payments_list": ("List payments and credits",
                      "Payments (default) or another credit `kind`, newest first, with the part not yet applied "
                      "(`unapplied_amount`). Filter by `customer`, `unapplied` or `external_key`." + SCOPE + PAGED),
    "payments_create": ("Record a payment",
                        "Records a receipt; with `auto_allocate` (default) it is applied to the customer's open "
                        "instalments oldest due first. A date after today needs `post_dated`. An `external_key` "
                        "already recorded is 409 `duplicate_external_key` with the existing id. Honours "
                        "`Idempotency-Key`: send one with every payment so a retry never records it twice."),
    "payments_retrieve": ("Get a payment or credit", "One payment, credit note or other credit." + SCOPE),
    "payments_allocations_list": ("List a payment's allocations",
                                  "Every allocation of the payment or credit, reversals included (negative rows "
                                  "pointing at the allocation they undo)."),
    "payments_allocations_create": ("Allocate a payment",
                                    "Applies the unapplied part of a payment or credit to open instalments of the "
                                    "same customer: the lines sent, or oldest due first when `allocations` is "
                                    "omitted. More than the unapplied or the open amount is 422 "
                                    "`over_allocation`; nothing is written then."),
    "credit_notes_create": ("Issue a credit note",
                            "Issues a credit note, against a document (`document`) or on account, and applies it "
                            "when `apply` is true. Honours `Idempotency-Key`."),
    # contacts, reference data
    "customers_contacts_retrieve": ("Get a contact", "One contact person of the customer." + SCOPE),
    "customers_contacts_partial_update": ("Change a contact",
                                          "Changes the fields sent (same checks as adding one); `is_primary` makes "
                                          "it the primary contact instead of the current one."),
    "customers_contacts_destroy": ("Deactivate a contact",
                                   "Marks the contact inactive: it is kept for the history, is no longer primary and "
                                   "is no longer offered for reminders."),
    "payment_terms_list": ("List payment terms",
                           "The company's payment terms: the codes `payment_terms` fields take, with days, split "
                           "lines and early-payment discount."),
    "users_list": ("List users", "Users of the key's company: the usernames `owner` and `salesperson` fields name, "
                                 "with their role and team."),
    # reversals, credit notes, write-offs
    "documents_reverse_create": ("Reverse a receivable document",
                                 "Reverses a posted document with a reason: its allocations are undone (the payments "
                                 "become unapplied again) and its instalments close. A document already reversed is "
                                 "422 `already_reversed`."),
    "payments_reverse_create": ("Reverse a payment or credit",
                                "Reverses a payment or credit note with a reason (e.g. a receipt recorded by "
                                "mistake): its allocations are undone and the instalments reopen. Already reversed "
                                "is 422 `already_reversed`."),
    "payments_allocations_reverse_create": ("Reverse an allocation",
                                            "Undoes one allocation with a reason: the instalment reopens and the "
                                            "payment's unapplied amount grows back. Answers the reversing allocation "
                                            "(a negative row pointing at the original)."),
    "credit_notes_list": ("List credit notes",
                          "Credit notes, newest first. Filter by `customer`, `document` or `external_key`."
                          + SCOPE + PAGED),
    "credit_notes_retrieve": ("Get a credit note", "One credit note with its unapplied part." + SCOPE),
    "write_offs_list": ("List write-off requests",
                        "Write-off requests, newest first, with their decision. Filter by `status` or `customer`; "
                        "`updated_since` reads them in request order." + SCOPE + PAGED),
    "write_offs_create": ("Request a write-off",
                          "Asks to write off part or all of an instalment's open amount; another user must approve "
                          "it. More than the open amount is refused with 422. Honours `Idempotency-Key`."),
    "write_offs_retrieve": ("Get a write-off request", "One write-off request with its decision." + SCOPE),
    "write_offs_decision_create": ("Approve or reject a write-off",
                                   "Records the decision on a pending request; approving posts the write-off credit "
                                   "against the instalment. Deciding one's own request is 403 `self_approval`; a "
                                   "request already decided is 409."),
    # collections
    "promises_list": ("List promises to pay",
                      "Promises to pay with their status (open, kept, broken), latest promised date first. Filter by "
                      "`status` or `customer`; `updated_since` reads them in the order they were recorded." + SCOPE
                      + PAGED),
    "promises_create": ("Record a promise to pay",
                        "Records a customer's promise to pay an amount by a date, for given instalments or the "
                        "account; `pause_dunning` holds reminders for those instalments until then. A past date or "
                        "more than is open (less disputed parts and other open promises) is 422. Honours "
                        "`Idempotency-Key`."),
    "promises_retrieve": ("Get a promise to pay", "One promise with its status and settlement date." + SCOPE),
    "predictions_list": ("List payment predictions",
                         "The live model's prediction for each open instalment: the probabilities of being paid "
                         "late, 30+ and 90+ days late, the predicted payment date with its 80 % interval and the main "
                         "reasons in the request's language; refreshed daily and after each training. Filter by "
                         "`customer` or `document`; earliest due date first." + SCOPE + PAGED),
    "predictions_retrieve": ("Get a payment prediction", "One open instalment's payment prediction." + SCOPE),
    "disputes_list": ("List disputes",
                      "Disputes with their status and resolution, latest first. Filter by `status` or `customer`."
                      + SCOPE + PAGED),
    "disputes_create": ("Open a dispute",
                        "Disputes part of one instalment or of a document (spread over its open instalments, "
                        "earliest first): the disputed part leaves dunning and shows apart in aging. More than is "
                        "open is 422. Honours `Idempotency-Key`."),
    "disputes_retrieve": ("Get a dispute", "One dispute with its resolution." + SCOPE),
    # payment plans, contact log, tasks, escalation cases (apiops)
    "payment_plans_list": ("List payment plans",
                           "Payment plans (分期/展期) with the instalments they replace and the new schedule, newest "
                           "first. Filter by `status` or `customer`." + SCOPE + PAGED),
    "payment_plans_create": ("Propose a payment plan",
                             "Proposes a new schedule (`lines`) for open instalments of one customer; nothing changes "
                             "in the ledger until someone else approves it. The lines must be dated today or later "
                             "and add up to the open amount replaced, else 422 `invalid_plan`; an instalment already "
                             "in a plan or waiting in one is 422. Honours `Idempotency-Key`."),
    "payment_plans_retrieve": ("Get a payment plan", "One plan with its schedule and decision." + SCOPE),
    "payment_plans_decision_create": ("Approve or reject a payment plan",
                                      "`approve: true` replaces the instalments' schedule in the same transaction; "
                                      "`false` rejects. Not by the requester (403); a plan already decided, or "
                                      "whose open amount changed since it was proposed, is 422."),
    "activities_list": ("List the contact log",
                        "Calls, visits, e-mails and notes with their outcome, newest first. Filter by `customer`, "
                        "`kind` or `outcome`." + SCOPE + PAGED),
    "activities_create": ("Log a call, visit, e-mail or note",
                          "Records one contact with the customer and its outcome, the next action date (today or "
                          "later) and optionally the promise to pay made in it (`promise_amount` with "
                          "`promise_date`, both or neither) — in one transaction; the worklist is updated. The "
                          "same checks as the log form (422). Honours `Idempotency-Key`."),
    "tasks_list": ("List follow-up tasks",
                   "Tasks (calls, visits, letters, bills to present …) from dunning, broken promises and plans or "
                   "created by hand, by due date. Filter by `status`, `customer`, `owner` (`me`) or `due_to`."
                   + SCOPE + PAGED),
    "tasks_create": ("Create a follow-up task",
                     "A task for `owner` (default: the customer's owner) due on `due`. Honours `Idempotency-Key`."),
    "tasks_complete_create": ("Close a task",
                              "Marks an open task done (or cancelled with `cancel: true`); a closed task is 422."),
    "cases_list": ("List escalation cases",
                   "Cases handed to legal or an agency (and bankruptcy claims), newest first, with the amounts "
                   "claimed and recovered. Filter by `status` (`open`: all but closed) or `customer`." + SCOPE + PAGED),
    "cases_retrieve": ("Get an escalation case", "One case with its instalments and claim." + SCOPE),
    # credit control (apiops)
    "credit_profiles_list": ("List credit profiles",
                             "Each customer's credit limit and validity, grade, score, terms and credit hold (with "
                             "its reason and source), customer code order. Filter by `on_hold`, `grade` or "
                             "`customer`; with `updated_since` a sync meets limit, grade, score and hold changes."
                             + SCOPE + PAGED),
    "customers_credit_profile_retrieve": ("Get a customer's credit profile",
                                          "The customer's limit, grade, score and hold; 404 when it has none."
                                          + SCOPE),
    "customers_scores_list": ("List a customer's scores",
                              "The score history: one snapshot per scoring date with the scorecard version, every "
                              "factor's value and points (reproducible), latest first." + SCOPE + PAGED),
    "customers_credit_hold_create": ("Put a customer on credit hold",
                                     "A manual credit hold with a `reason` (required, 422 otherwise): new orders "
                                     "and credit checks are held until it is released. Needs the credit-hold "
                                     "permission (403). Placing the same hold again changes nothing."),
    "customers_credit_hold_release_create": ("Release a customer's credit hold",
                                             "Lifts the hold, whatever placed it, with a `reason`. A customer not "
                                             "on hold is 409 `not_on_hold`."),
    "orders_decision_create": ("Decide on a held order",
                               "The credit manager's decision on an order in the credit-hold queue, with a "
                               "`reason`: `release`; `partial` (release `amount`, less than the order — the rest "
                               "stays held as a new order `<reference>-R<n>`); `prepayment` (asked for, stays held); "
                               "`reject`. An order no longer held is 409."),
    "credit_requests_list": ("List credit requests",
                             "Requests for a limit, terms, grade or hold-release change with their approvals, "
                             "newest first. Filter by `status` (`open`: awaiting a decision), `kind` or `customer`."
                             + SCOPE + PAGED),
    "credit_requests_create": ("Request a credit change",
                               "Asks for a new limit (`limit_amount`, `valid_to`), terms (`terms_days` or "
                               "`payment_terms`), grade or a hold release, with a `reason`; someone else decides. "
                               "Above the grade's maximum it is refused (422 `above_grade_maximum`) unless "
                               "`exception` is asked for; an exception or a limit above the policy's threshold "
                               "needs a second approver. Honours `Idempotency-Key`."),
    "credit_requests_retrieve": ("Get a credit request", "One request with its approvals." + SCOPE),
    "credit_requests_decision_create": ("Approve or reject a credit request",
                                        "Not by its requester (403). A request needing two approvals is `partly` "
                                        "after the first and applied after the second (by a different approver "
                                        "with the higher permission). Already decided: 409."),
    # fapiao, dunning notices, bank statements (apiops)
    "fapiao_list": ("List fapiao",
                    "Tax fapiao recorded against customers and their receivables (red ones negative, with `red_of`), "
                    "newest first. Filter by `status`, `customer`, `document` or `number`." + SCOPE + PAGED),
    "fapiao_create": ("Record a fapiao",
                      "Records a fapiao issued in the tax system (Huikuan issues none), against a `document` or the "
                      "customer. Refused as on the fapiao screen: a number already recorded (422 "
                      "`duplicate_number`), a date after today, a document of another customer (422 "
                      "`wrong_customer`), more fapiao than the document's amount net of red reversals or a reversed "
                      "document (422 `over_fapiao`). Needs the fapiao permission. Honours `Idempotency-Key`."),
    "fapiao_retrieve": ("Get a fapiao", "One fapiao with its status." + SCOPE),
    "fapiao_red_reverse_create": ("Red-reverse a fapiao (红字发票)",
                                  "Records a red fapiao reversing `amount` of an issued fapiao (default: all that is "
                                  "left); partial reversals may follow until nothing is left (more is 422 "
                                  "`over_fapiao`; a fully reversed one 422 `already_reversed`). Dated from the "
                                  "original's date to today. The original becomes `partly_red` or `red_reversed`. "
                                  "Honours `Idempotency-Key`."),
    "dunning_notices_list": ("List dunning notices",
                             "Reminders the dunning run produced, newest cycle first, with the step, tone and "
                             "amount. Filter by `customer`, `tone`, `cycle_from`/`cycle_to`. A notice never "
                             "changes: `updated_since` reads new ones (`created_at`)." + SCOPE + PAGED),
    "dunning_notices_retrieve": ("Get a dunning notice",
                                 "One notice with the instalments it reminded of and each channel's delivery "
                                 "(status, attempts, sent time, error)." + SCOPE),
    "bank_statements_list": ("List imported bank statements",
                             "Statements imported, newest first, with their period, balances and line counts. "
                             "Filter by `account`. Needs the banking view permission (403)." + PAGED),
    "bank_statements_create": ("Import a bank statement",
                               "Imports a statement file sent as base64 in `content` (CSV/XLSX exports of Chinese "
                               "banks, MT940, CAMT.053, WeChat Pay and Alipay bills; at most 20 MB), all or nothing: "
                               "lines already imported on the account are skipped, payments out are kept as "
                               "ignored, and the new lines are matched at once (certain ones applied, as the "
                               "company's settings say). A file whose layout is not recognised is 422 "
                               "`statement_layout_unknown` — map its columns once on the upload screen (the "
                               "mapping is kept for the account) or pass `profile`. Honours `Idempotency-Key`."),
    "bank_statements_retrieve": ("Get a bank statement",
                                 "One imported statement with its period, balances and line counts."),
    "bank_lines_list": ("List bank statement lines",
                        "Lines with their status, match proposals and the payment they became, date order. "
                        "Filter by `status` (`open`: unmatched or suggested incoming lines), `statement` or "
                        "`account`." + PAGED),
    "bank_lines_retrieve": ("Get a bank statement line",
                            "One line with its status, match proposals and the payment it became."),
    "bank_lines_match_create": ("Match bank lines again",
                                "Proposes matches for the open lines given (customers, instalments) and applies the "
                                "certain ones, as after an import; answers the counts. A line id that does not "
                                "exist is 404."),
    "bank_lines_confirm_create": ("Confirm a bank line",
                                  "Turns an open incoming line into a payment: as its stored `proposal` (index), or "
                                  "for a `customer` with the `allocations` given (the rest unapplied on the "
                                  "account; none: all on account). More than received or than open is 422 "
                                  "`over_application`; a line someone already dealt with is 409."),
    # reports
    "aging_retrieve": ("Get the aging report",
                       "Open receivables by age bucket as of a date, grouped by customer, salesperson, region or "
                       "another `group_by`, with the disputed part." + SCOPE),
    "kpis_retrieve": ("Get receivables KPIs",
                      "DSO, collection effectiveness and the other receivables KPIs for a period, in total or "
                      "grouped." + SCOPE),
    "forecast_retrieve": ("Get the 13-week cash-in forecast",
                          "The cash-in forecast computed as of `as_of` (default: the latest; 404 when none was "
                          "computed for the date): per week the open amount expected by the P10 / P50 / P90 "
                          "predicted payment dates and by the due dates (naive), week 14 being beyond the 13 weeks; "
                          "each column adds up to `open_amount`. `source` says what predicted the dates (the live "
                          "model, the best baseline, or the due dates when no model is trained). `group_by` "
                          "salesperson, group or currency adds P50 lines; `orders=true` adds open orders not yet "
                          "invoiced at their customer's terms." + SCOPE + " A key limited to one customer gets 404."),
    "provisions_retrieve": ("Get the bad-debt provision",
                            "The suggested provision (坏账准备) as of `as_of` (default: the last month end): lines by "
                            "账龄 band of the company's matrix and by approved individual assessment, with receivables, "
                            "rate and provision; a closed month end returns the figures stored at its close "
                            "(`stored`). `months` adds the movement by month (opening, charge, release, write-off use, "
                            "closing). It suggests; it posts no journal."),
    "periods_retrieve": ("Get the lock date (period close)",
                         "The company's lock date (关账: nothing may be dated on or before it) and the history of "
                         "closes and reopens — who, when, the lock date before and after, the reason."),
    "periods_close_create": ("Close a month",
                             "Closes `month` (YYYY-MM) and every month before it: the lock date becomes its last "
                             "day. Only a month that has ended; a month already closed is 422. Any later posting, "
                             "payment, credit, allocation, write-off or reversal dated on or before the lock date "
                             "is refused with 422 `period_closed`, naming the lock date."),
    "periods_reopen_create": ("Reopen a month",
                              "Administrators only (403 otherwise). Reopens `month` and every month after it: the "
                              "lock date becomes the day before it. `reason` is required and kept in the history."),
    # internal audit (insight.audit_report)
    "audit_events_retrieve": ("Search the audit log",
                              "Administrators and auditors only (403 otherwise, and the refusal is recorded). Every "
                              "audit event of the company (and the install-wide ones: users, API keys) in the period "
                              "(`from`/`to`, company time zone; default the last 30 days), filtered by `category`, "
                              "`verb` (or a prefix ending in `*`), `user`, `customer`, `object_type`/`object_id` and "
                              "`q` (text in the summary or the stored data), newest first, with before/after. Keyset "
                              "pages: pass `next` back as `after`. A period ending before it starts is 422."),
    "audit_report_retrieve": ("Internal audit report",
                              "Administrators and auditors only. Events per category in the period (limit and terms "
                              "changes, over-limit releases, manual allocations, write-offs, reversals, payment plans, "
                              "back-dated entries, overrides, approvals, failed permission attempts, period close, "
                              "users and roles) and the segregation-of-duties findings (requested and approved by one "
                              "person — one account or two accounts of one employee number — and created a customer "
                              "and approved its limit)."),
    # early warnings
    "warnings_list": ("List early warnings",
                      "Warnings raised by the company's rules (overdue, limit use, broken promises, score drops, "
                      "bills near maturity, limitation dates, …), newest first, with the message in the request's "
                      "language. Filter by `status` (default `active`: open or acknowledged), `kind`, `severity`, "
                      "`customer`, `raised_from`, `raised_to`; with `updated_since`/`cursor` the default status is `all`, so "
                      "a sync also meets the warnings acknowledged or resolved since." + SCOPE + PAGED),
    "warnings_acknowledge_create": ("Acknowledge a warning",
                                    "Marks an open warning acknowledged, with an optional `note` (audited). A "
                                    "warning already acknowledged or resolved is 409 `warning_state`."),
    "warnings_resolve_create": ("Resolve a warning",
                                "Resolves an open or acknowledged warning; `note` (how it was resolved) is required "
                                "(422 otherwise) and audited. A resolved warning is final: 409 `warning_state`. The "
                                "same cause is never raised again."),
    # credit
    "credit_checks_create": ("Check credit for an amount",
                             "Answers approve / warn / hold for an order amount with every reason and the available "
                             "credit. With `order_reference` the amount is reserved as that order (201): approved "
                             "orders count towards exposure, held ones wait in the credit-hold queue. Honours "
                             "`Idempotency-Key`."),
    "orders_list": ("List sales orders", "Orders submitted for a credit check, newest first. Filter by `customer` "
                                         "or `status`." + SCOPE + PAGED),
    "orders_create": ("Submit a sales order",
                      "Submits an order for a credit check: approved orders count towards exposure, held ones wait "
                      "in the credit-hold queue. Re-submitting the same reference changes its amount while it is "
                      "open or held. Honours `Idempotency-Key`."),
    "orders_retrieve": ("Get a sales order", "One order with its credit-check outcome and reasons." + SCOPE),
    "orders_partial_update": ("Mark an order invoiced or cancelled",
                              "An open order may be marked invoiced or cancelled; a held order may only be "
                              "cancelled (invoicing it is 409 `order_on_hold`: it must be released first). A "
                              "closed order is 409 `order_not_open`."),
    "credit_reports_list": ("List third-party credit reports", "Credit reports recorded for customers, newest "
                                                               "first." + SCOPE + PAGED),
    "credit_reports_create": ("Record a third-party credit report",
                              "Records a credit agency's report (score and/or rating) for a customer given by id or "
                              "code. Honours `Idempotency-Key`."),
}
