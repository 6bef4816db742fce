//! The rules `#[isolated]` enforces before it emits anything, each reported
//! at the user's token with the rule and the fix. Every mistake is
//! collected, not only the first.

use syn::spanned::Spanned;

use crate::args::Options;
use crate::locate::Place;
use crate::model::{Model, Output};
use crate::types::{borrow_error, borrows, pretty, Position, Supplied};

/// Collects errors and combines them into one.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(errors) => errors.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub(crate) fn extend(&mut self, errors: impl IntoIterator<Item = syn::Error>) {
        for error in errors {
            self.push(error);
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    pub(crate) fn into_result(self) -> Result<(), syn::Error> {
        match self.0 {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

/// Checks the function and options against every rule.
pub(crate) fn check(model: &Model<'_>, options: &Options, errors: &mut Errors) {
    let sig = model.func.sig;
    if model.place == Some(Place::TraitImpl) {
        errors.push(syn::Error::new(
            sig.ident.span(),
            "#[isolated] cannot be used in a trait impl: the `_isolated` function it adds is not a member of the trait; put the function in an inherent `impl` block and #[isolated] on it there",
        ));
    }
    if let Some(fold) = options.fold {
        match &sig.output {
            syn::ReturnType::Type(_, ty) if matches!(**ty, syn::Type::ImplTrait(_)) => {
                errors.push(syn::Error::new(
                    fold,
                    "#[isolated(fold)] needs a return type it can name: an `impl Trait` is not a `Result`; return `Result<impl Trait, E>` or remove `fold`",
                ));
            }
            syn::ReturnType::Default => errors.push(syn::Error::new(
                fold,
                "#[isolated(fold)] folds a `Result` return type, and this function returns nothing; remove `fold`",
            )),
            syn::ReturnType::Type(_, ty)
                if matches!(&**ty, syn::Type::Tuple(tuple) if tuple.elems.is_empty())
                    || matches!(**ty, syn::Type::Never(_)) =>
            {
                errors.push(syn::Error::new(
                    fold,
                    "#[isolated(fold)] folds a `Result` return type, and this function returns none; remove `fold`",
                ));
            }
            syn::ReturnType::Type(..) => {}
        }
    }
    if let Some(constness) = &sig.constness {
        errors.push(syn::Error::new(
            constness.span(),
            "#[isolated] cannot be used on a `const fn`: an isolate runs at run time on another thread; remove `const`, or call the function directly",
        ));
    }
    if let Some(unsafety) = &sig.unsafety {
        errors.push(syn::Error::new(
            unsafety.span(),
            "#[isolated] cannot be used on an `unsafe fn`: its safety conditions cannot be upheld from another thread; wrap the unsafe call in a safe function and put #[isolated] on that",
        ));
    }
    if let Some(abi) = &sig.abi {
        errors.push(syn::Error::new(
            abi.span(),
            "#[isolated] cannot be used on an `extern` function: write a Rust function that calls it and put #[isolated] on that",
        ));
    }
    if let Some(variadic) = &sig.variadic {
        errors.push(syn::Error::new(
            variadic.span(),
            "#[isolated] cannot be used on a variadic function: its arguments cannot be moved to another thread",
        ));
    }
    if let Some(receiver) = model.receiver {
        // `&self`, `&mut self`, and the typed `self: &Self`,
        // `self: Pin<&mut Self>`: each borrows from the caller.
        let written = if receiver.colon_token.is_some() {
            borrows(&receiver.ty).then(|| format!("self: {}", pretty(&receiver.ty)))
        } else if receiver.reference.is_some() {
            Some(
                if receiver.mutability.is_some() {
                    "&mut self"
                } else {
                    "&self"
                }
                .to_owned(),
            )
        } else {
            None
        };
        if let Some(written) = written {
            let message = format!(
                "#[isolated] methods must take `self` by value: `{written}` borrows from the caller, but the isolate runs on another thread after the call returns; take `self`, `self: Box<Self>` or `self: Arc<Self>`"
            );
            errors.push(if receiver.colon_token.is_some() {
                syn::Error::new_spanned(receiver, message)
            } else {
                syn::Error::new(receiver.span(), message)
            });
        }
    }
    if let Some((generics, self_ty)) = model.impl_block {
        let lifetime = generics
            .lifetimes()
            .map(|param| pretty(&param.lifetime))
            .next()
            .or_else(|| borrows(self_ty).then(|| pretty(self_ty)));
        if let Some(lifetime) = lifetime {
            let span = model
                .receiver
                .map_or_else(|| sig.ident.span(), Spanned::span);
            errors.push(syn::Error::new(
                span,
                format!(
                    "#[isolated] cannot be used in an `impl` block whose type borrows (`{lifetime}`): the function is moved to another thread, so `Self` must be owned; implement it on an owned type, or write a free function that takes owned arguments"
                ),
            ));
        }
    }
    let receiver_attrs = model.receiver.map(|receiver| &receiver.attrs[..]);
    let arg_attrs = model.args.iter().map(|arg| arg.attrs);
    for attr in receiver_attrs.into_iter().chain(arg_attrs).flatten() {
        if attr.path().is_ident("cfg") || attr.path().is_ident("cfg_attr") {
            errors.push(syn::Error::new_spanned(
                attr,
                "#[isolated] cannot take a parameter under `#[cfg(..)]` or `#[cfg_attr(..)]`: the wrapper passes every parameter on; put the `#[cfg]` on the whole function, one version per configuration",
            ));
        }
    }
    for arg in &model.args {
        if let Some(error) = borrow_error(arg.ty, Position::Argument) {
            errors.push(error);
        }
    }
    let mut supplied = model
        .args
        .iter()
        .filter_map(|arg| Some((arg, arg.supplied?)));
    if let Some((first, kind)) = supplied.next() {
        let fix = match kind {
            Supplied::Progress(_) => "clone it to report from several places",
            Supplied::Port(..) => {
                "one port carries both directions; `into_parts()` splits it for helpers"
            }
        };
        for (extra, _) in supplied {
            errors.push(syn::Error::new(
                extra.ty.span(),
                format!(
                    "#[isolated] functions take at most one `Progress` or `Port` parameter: the first, `{}`, is the one the wrapper supplies; {fix}",
                    crate::types::pretty(first.ty)
                ),
            ));
        }
    }
    match &model.output {
        Output::Never(span) => errors.push(syn::Error::new(
            *span,
            "#[isolated] cannot be used on a function that never returns (`-> !`): there is no value to hand back; return `()` or a value",
        )),
        Output::Plain(ty) | Output::Folded { ty, .. } => {
            if let Some(error) = borrow_error(ty, Position::Return) {
                errors.push(error);
            }
        }
        Output::Unit => {}
    }
    if let Some(wrapper) = &options.wrapper {
        if *wrapper == sig.ident {
            errors.push(syn::Error::new(
                wrapper.span(),
                "#[isolated(wrapper = ...)] must differ from the function's own name: the function is kept as written beside its wrapper",
            ));
        }
    }
}
