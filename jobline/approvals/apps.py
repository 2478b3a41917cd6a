from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "jobline.approvals"
    label = "approvals"

    def ready(self) -> None:
        # A job entering a stage that needs the customer's approval asks for it; the job
        # cannot move on past it until given; the job page shows it. The jobs app sits below
        # and tells us through its hooks.
        from jobline.approvals import selectors, services
        from jobline.jobs import hooks

        hooks.on_activity_logged(services.on_activity_logged)
        hooks.on_move_forward(services.refuse_unapproved_move)
        hooks.on_job_page(selectors.job_page_approval)
        hooks.on_customer_wait(selectors.WAITING_FOR_APPROVAL)
