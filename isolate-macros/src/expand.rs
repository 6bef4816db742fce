//! Token emission: the function as written, and its `_isolated` sibling.
//!
//! One phase, one concept, in one file of about 700 lines of code: the
//! sibling's signature, its spawn body, and the `Entry` table that says,
//! as data, where each kind of isolate is started.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{
    Attribute, Ident, ImplItem, Item, ItemImpl, LitStr, Meta, TraitItemFn, Type, WherePredicate,
};

use crate::args::Options;
use crate::locate::Place;
use crate::model::{type_and_const_params, Context, Fold, Function, Model, Output};
use crate::types::{
    alias_ok_and_unit, contains_impl_trait, may_name_impl_parameter, mentions_generics,
    names_impl_parameter, with_send_impl_traits, ResultShape, Supplied,
};
use crate::valid::{check, Errors};

/// The attribute's entry point: parses, hands off by item kind, and turns
/// errors into `compile_error!`s beside the best item it can still emit.
pub(crate) fn isolated(args: TokenStream, item: TokenStream) -> TokenStream {
    let options = match syn::parse2::<Options>(args) {
        Ok(options) => options,
        Err(error) => return with_errors(item, error),
    };
    let parsed = match syn::parse2::<Item>(item.clone()) {
        Ok(parsed) => parsed,
        Err(error) => return with_errors(item, error),
    };
    match parsed {
        Item::Fn(function) => {
            let func = Function {
                attrs: &function.attrs,
                vis: &function.vis,
                sig: &function.sig,
                block: Some(&function.block),
            };
            let (wrapper, errors) = expand_function(func, &options, &Context::Free);
            let mut tokens = function.to_token_stream();
            tokens.extend(wrapper);
            finish(tokens, errors)
        }
        Item::Impl(item_impl) => expand_impl(item_impl, options),
        Item::Trait(item_trait) => with_errors(
            item,
            syn::Error::new(
                item_trait.trait_token.span(),
                "#[isolated] cannot be used on a trait: put it on functions, or on an inherent `impl` block",
            ),
        ),
        Item::Verbatim(tokens) => {
            let error = match syn::parse2::<TraitItemFn>(tokens) {
                Ok(trait_fn) => syn::Error::new_spanned(
                    &trait_fn.sig,
                    "#[isolated] needs a function with a body: it cannot be used on a trait item; put it on the function in an inherent `impl` block",
                ),
                Err(_) => syn::Error::new(
                    Span::call_site(),
                    "#[isolated] applies to functions and inherent `impl` blocks",
                ),
            };
            with_errors(item, error)
        }
        other => {
            let span = match &other {
                Item::Struct(s) => s.struct_token.span(),
                Item::Enum(e) => e.enum_token.span(),
                _ => Span::call_site(),
            };
            with_errors(
                item,
                syn::Error::new(span, "#[isolated] applies to functions and inherent `impl` blocks"),
            )
        }
    }
}

fn with_errors(mut item: TokenStream, error: syn::Error) -> TokenStream {
    item.extend(error.into_compile_error());
    item
}

fn finish(mut tokens: TokenStream, errors: Errors) -> TokenStream {
    if let Err(error) = errors.into_result() {
        tokens.extend(error.into_compile_error());
    }
    tokens
}

/// Whether the function's own `where` clause says `Self: Sized` (a by-value
/// default body needs it): the sibling's copy of it must not be repeated,
/// which clippy's `trait_duplication_in_bounds` reported.
fn bounds_self_by_sized(sig: &syn::Signature) -> bool {
    let Some(where_clause) = &sig.generics.where_clause else {
        return false;
    };
    where_clause.predicates.iter().any(|predicate| match predicate {
        WherePredicate::Type(predicate) => {
            matches!(&predicate.bounded_ty, Type::Path(path) if path.qself.is_none() && path.path.is_ident("Self"))
                && predicate.bounds.iter().any(|bound| {
                    matches!(bound, syn::TypeParamBound::Trait(bound)
                        if bound.path.segments.last().is_some_and(|s| s.ident == "Sized")
                            && matches!(bound.modifier, syn::TraitBoundModifier::None))
                })
        }
        _ => false,
    })
}

/// The sibling's name when the attribute gives none: `name_isolated`. A
/// name that ends in `_` (`type_`, as a keyword is escaped) does not double
/// it: `non_snake_case` reported `type__isolated` on the user's function.
pub(crate) fn sibling_ident(ident: &Ident) -> Ident {
    let name = syn::ext::IdentExt::unraw(ident).to_string();
    let base = match name.trim_end_matches('_') {
        "" => name.as_str(),
        trimmed => trimmed,
    };
    format_ident!("{}_isolated", base, span = ident.span())
}

pub(crate) fn is_isolated_attr(attr: &Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|segment| segment.ident == "isolated")
}

// Input:
//     #[isolated] impl Parser { #[isolated] fn helper(x: u32) -> u32 { .. } }
// Output:
//     impl Parser {
//         fn helper(x: u32) -> u32 { .. }
//         fn helper_isolated(x: u32) -> IsolateHandle<u32> { .. Self::helper .. }
//     }
fn expand_impl(mut item_impl: ItemImpl, options: Options) -> TokenStream {
    let mut errors = Errors::default();
    errors.extend(options.errors);
    if options.name.is_some()
        || options.dedicated.is_some()
        || options.stack_size.is_some()
        || options.timeout.is_some()
        || options.wrapper.is_some()
        || options.no_fold.is_some()
        || options.fold.is_some()
        || options.krate.is_some()
        || options.process.is_some()
        || options.memory_limit.is_some()
        || options.cpu_limit.is_some()
    {
        errors.push(syn::Error::new(
            Span::call_site(),
            "#[isolated] on an `impl` block takes no options: put them on each function's #[isolated(...)]",
        ));
    }
    if let Some((_, path, _)) = &item_impl.trait_ {
        errors.push(syn::Error::new(
            path.span(),
            "#[isolated] cannot be used on a trait impl: the `_isolated` functions it adds are not members of the trait; put them in an inherent `impl` block",
        ));
        return finish(item_impl.to_token_stream(), errors);
    }
    let impl_generics = item_impl.generics.clone();
    let self_ty = (*item_impl.self_ty).clone();
    let mut items = Vec::with_capacity(item_impl.items.len());
    for item in std::mem::take(&mut item_impl.items) {
        let ImplItem::Fn(mut function) = item else {
            items.push(item);
            continue;
        };
        let Some(position) = function.attrs.iter().position(is_isolated_attr) else {
            items.push(ImplItem::Fn(function));
            continue;
        };
        let attr = function.attrs.remove(position);
        let options = match &attr.meta {
            Meta::Path(_) => Ok(Options::default()),
            Meta::List(list) => syn::parse2::<Options>(list.tokens.clone()),
            Meta::NameValue(nv) => Err(syn::Error::new(
                nv.span(),
                "#[isolated] takes its options in parentheses: #[isolated(name = \"...\")]",
            )),
        };
        let options = match options {
            Ok(options) => options,
            Err(error) => {
                errors.push(error);
                items.push(ImplItem::Fn(function));
                continue;
            }
        };
        let func = Function {
            attrs: &function.attrs,
            vis: &function.vis,
            sig: &function.sig,
            block: Some(&function.block),
        };
        let context = Context::Impl {
            generics: &impl_generics,
            self_ty: &self_ty,
        };
        let (wrapper, function_errors) = expand_function(func, &options, &context);
        if let Err(error) = function_errors.into_result() {
            errors.push(error);
        }
        items.push(ImplItem::Fn(function));
        if !wrapper.is_empty() {
            items.push(ImplItem::Verbatim(wrapper));
        }
    }
    item_impl.items = items;
    finish(item_impl.to_token_stream(), errors)
}

// Input:
//     #[isolated]
//     pub fn checksum<T: AsRef<[u8]>>(data: T) -> io::Result<u64> { .. }
// Output (beside the function, unchanged):
//     /// Runs [`checksum`] on an isolate ...
//     #[must_use = ".."]
//     pub fn checksum_isolated<T: AsRef<[u8]>>(data: T)
//         -> ::isolate::IsolateHandle<<io::Result<u64> as FoldResult>::Ok, <.. as FoldResult>::Err>
//     where T: IsolateArg
//     {
//         fn __spawn<A0: IsolateArg, R: FoldResult, F: FnOnce(A0) -> R + Send + 'static>(
//             builder: Builder, a0: A0, f: F,
//         ) -> IsolateHandle<R::Ok, R::Err> where R::Ok: IsolateReturn, R::Err: IsolateReturn {
//             builder.run(Fold(move || FoldResult::into_result(f(a0))))
//         }
//         __spawn::<T, io::Result<u64>, _>(Builder::new().name("checksum"), data, checksum)
//     }
// The turbofish carries the user's own type tokens, so a type that cannot
// cross threads is reported at the user's parameter, in the words of the
// `IsolateArg` / `IsolateReturn` traits.
fn expand_function(
    func: Function<'_>,
    options: &Options,
    context: &Context<'_>,
) -> (TokenStream, Errors) {
    let mut errors = Errors::default();
    errors.extend(options.errors.iter().cloned());
    let fold = match (options.no_fold, options.fold) {
        (Some(_), _) => Fold::Never,
        (None, Some(_)) => Fold::Always,
        (None, None) => Fold::Named,
    };
    let model = Model::new(func, context, fold);
    check(&model, options, &mut errors);
    crate::process::check(&model, options, &mut errors);
    if let (Some(timeout), Some(Supplied::Port(..))) = (&options.timeout, model.supplied()) {
        errors.push(syn::Error::new(
            timeout.span(),
            "#[isolated(timeout = ...)] does not apply to a long-running worker (a function with a `Port` parameter): it runs until its caller stops it",
        ));
    }
    let failed = !errors.is_empty();
    // A wrapper is still emitted after a mistake, so that its callers do not
    // add errors of their own; its body is never run, as the crate fails to
    // compile. Only an unnameable return type leaves it out.
    let return_is_nameable = match &model.output {
        Output::Never(_) => false,
        // A stand-in cannot give an `impl Trait` a hidden type.
        Output::Plain(ty) | Output::Folded { ty, .. } => {
            crate::types::borrow_error(ty, crate::types::Position::Return).is_none()
                && !contains_impl_trait(ty)
        }
        Output::Unit => true,
    };
    let wrapper_is_distinct = options.wrapper.as_ref() != Some(&model.func.sig.ident);
    // A trait impl takes no item the trait does not declare.
    let wrapper_fits = model.place != Some(Place::TraitImpl);
    if failed && !(return_is_nameable && wrapper_is_distinct && wrapper_fits) {
        return (TokenStream::new(), errors);
    }
    if options.process.is_some() {
        return (crate::process::wrappers(&model, options, failed), errors);
    }
    (wrapper(&model, options, failed), errors)
}

fn wrapper(model: &Model<'_>, options: &Options, failed: bool) -> TokenStream {
    let krate = match &options.krate {
        Some(path) => path.to_token_stream(),
        None => quote!(::isolate),
    };
    let private = quote!(#krate::__private);
    let sig = model.func.sig;
    let ident = &sig.ident;
    let wrapper_ident = match &options.wrapper {
        Some(wrapper) => wrapper.clone(),
        None => sibling_ident(ident),
    };
    let vis = model.func.vis;
    let kept_attrs = kept_attrs(model.func.attrs);
    // The sibling of a deprecated function calls it without a warning of
    // its own; its callers are warned through the copied `#[deprecated]`.
    let deprecated = model
        .func
        .attrs
        .iter()
        .any(|attr| attr.path().is_ident("deprecated"))
        .then(|| quote!(#[allow(deprecated)]));
    let target = if model.in_impl {
        format!("Self::{ident}")
    } else {
        ident.to_string()
    };
    let doc_summary = match model.supplied() {
        Some(Supplied::Progress(_)) => format!(" Runs [`{ident}`]({target}) on an isolate and returns a handle to its progress updates and result."),
        Some(Supplied::Port(..)) => format!(" Starts [`{ident}`]({target}) as a long-running worker and returns the caller's side of its port."),
        None => format!(" Runs [`{ident}`]({target}) on an isolate and returns a handle to its result."),
    };
    let doc_details =
        " Generated by `#[isolated]`: the arguments are moved to the isolate's thread. \
        Wait with `.join()` or `.await`; dropping the handle cancels the isolate.";

    // The parameters: the receiver, then the typed arguments under their names.
    // `self` as the shorthand it was written in: `self: Self` at the user's
    // token would draw clippy's `needless_arbitrary_self_type`.
    let receiver_param = model.receiver.map(|receiver| {
        let ty = &receiver.ty;
        match (&receiver.colon_token, &receiver.reference) {
            (None, None) => quote_spanned!(receiver.span()=> self),
            _ => quote_spanned!(receiver.span()=> self: #ty),
        }
    });
    let arg_params = model
        .args
        .iter()
        .filter(|arg| arg.supplied.is_none())
        .map(|arg| {
            let name = &arg.name;
            let ty = with_send_impl_traits(arg.ty);
            let attrs = lint_attrs(arg.attrs);
            quote!(#(#attrs)* #name: #ty)
        });
    let params = receiver_param.into_iter().chain(arg_params);

    // The return type as written: an `impl Trait` in it leaks `Send` to the
    // sibling's callers, and a bound added here would report a second error
    // for the one the turbofish reports at the user's type.
    let (handle_args, return_turbofish) = match &model.output {
        Output::Unit | Output::Never(_) => (quote!(()), quote!(())),
        Output::Plain(ty) => (quote!(#ty), turbofish_type(ty)),
        Output::Folded { ty, shape } => {
            let args = match shape {
                ResultShape::Explicit { ok, err } => quote!(#ok, #err),
                ResultShape::Alias => match alias_ok_and_unit(ty) {
                    Some((ok, unit)) if contains_impl_trait(ok) => {
                        quote_spanned!(ty.span()=> #ok, <#unit as #private::FoldResult>::Err)
                    }
                    _ => quote_spanned!(ty.span()=>
                        <#ty as #private::FoldResult>::Ok,
                        <#ty as #private::FoldResult>::Err
                    ),
                },
            };
            (args, turbofish_type(ty))
        }
    };
    let handle = match model.supplied() {
        Some(Supplied::Progress(update)) => quote!(#krate::ProgressHandle<#update, #handle_args>),
        Some(Supplied::Port(inbox, outbox)) => {
            quote!(#krate::Worker<#inbox, #outbox, #handle_args>)
        }
        None => quote!(#krate::IsolateHandle<#handle_args>),
    };

    let mut added: Vec<WherePredicate> = Vec::new();
    // A trait's provided sibling names `Self` in its bounds, which would
    // make the trait not dyn-compatible; `Self: Sized` leaves it out of the
    // vtable, and a `dyn Trait` could not be moved to an isolate anyway.
    if model.place == Some(Place::Trait) && !bounds_self_by_sized(sig) {
        let span = model
            .receiver
            .map_or_else(|| sig.ident.span(), Spanned::span);
        added.push(syn::parse_quote_spanned!(span=> Self: ::core::marker::Sized));
    }
    // A stand-in needs no bounds: its body never runs.
    if !failed {
        added.extend(generic_bounds(model, &krate));
    }
    // The empty `for<'__isolate>` of a bound checked at the call binds a
    // lifetime that nothing uses, which `unused_lifetimes` would report on
    // the user's item.
    let allow_unused_lifetimes = added
        .iter()
        .any(|predicate| matches!(predicate, WherePredicate::Type(p) if p.lifetimes.is_some()))
        .then(|| quote!(#[allow(unused_lifetimes)]));
    let mut generics = sig.generics.clone();
    add_bounds(&mut generics, added);
    let where_clause = &generics.where_clause;

    // In an `impl` block, rustc reports the dead associated functions
    // together, and not at all when one of them is generated: the sibling
    // counts as used, so that the block's other functions are still
    // reported. (A free sibling is left out of the report on its own.)
    let allow_dead_code = model.in_impl.then(|| quote!(#[allow(dead_code)]));
    // The stand-in wrapper after a mistake never uses its parameters.
    let allow_unused = failed.then(|| quote!(#[allow(unused_variables)]));
    let body = if failed {
        quote!(::core::unreachable!())
    } else {
        spawn_body(model, options, &krate, return_turbofish)
    };

    quote! {
        #(#kept_attrs)*
        #[doc = #doc_summary]
        #[doc = ""]
        #[doc = #doc_details]
        #allow_unused
        #deprecated
        #allow_dead_code
        #allow_unused_lifetimes
        #vis fn #wrapper_ident #generics (#(#params),*) -> #handle #where_clause {
            #body
        }
    }
}

/// The function's attributes that the sibling keeps: its `cfg`s, its
/// deprecation and its lint levels that allow (an `#[expect(..)]` as
/// `#[allow(..)]`: the sibling may not trigger the lint, and an unfulfilled
/// expectation would warn). Outer attributes only: an inner `#![allow(..)]`
/// at the top of the body belongs to the body.
pub(crate) fn kept_attrs(attrs: &[Attribute]) -> Vec<TokenStream> {
    let outer: Vec<&Attribute> = attrs
        .iter()
        .filter(|attr| matches!(attr.style, syn::AttrStyle::Outer))
        .collect();
    copied(outer, &["cfg", "cfg_attr", "allow", "deprecated"])
}

/// A parameter's lint attributes, for the sibling's parameter of the same
/// name (`#[allow(non_snake_case)] A: Vec<f64>`); `#[expect(..)]` as
/// `#[allow(..)]`, as on the function.
pub(crate) fn lint_attrs(attrs: &[Attribute]) -> Vec<TokenStream> {
    copied(attrs, &["allow", "warn", "deny", "forbid"])
}

/// The attributes named in `names`, as written, and each `#[expect(..)]`
/// as `#[allow(..)]`.
fn copied<'a>(attrs: impl IntoIterator<Item = &'a Attribute>, names: &[&str]) -> Vec<TokenStream> {
    attrs
        .into_iter()
        .filter_map(|attr| {
            if attr.path().is_ident("expect") {
                as_allow(attr)
            } else {
                names
                    .iter()
                    .any(|name| attr.path().is_ident(name))
                    .then(|| attr.to_token_stream())
            }
        })
        .collect()
}

/// `#[expect(lint, reason = "..")]` as `#[allow(lint, reason = "..")]`.
fn as_allow(attr: &Attribute) -> Option<TokenStream> {
    let Meta::List(list) = &attr.meta else {
        return None;
    };
    let allow = syn::Ident::new("allow", list.path.span());
    let tokens = &list.tokens;
    Some(quote_spanned!(attr.span()=> #[#allow(#tokens)]))
}

/// The type to give the inner spawn function's turbofish: the user's own
/// tokens (so errors land on them), or `_` where `impl Trait` cannot be named.
fn turbofish_type(ty: &Type) -> TokenStream {
    if contains_impl_trait(ty) {
        // Spanned at the user's type, so a bound the anonymous type misses
        // is reported on it.
        quote_spanned!(ty.span()=> _)
    } else {
        ty.to_token_stream()
    }
}

/// `where` predicates for the types that mention generic parameters: their
/// bounds can only be checked where the wrapper is called. Without the
/// `impl` block in sight, any type of an associated function may name one
/// of its parameters, so each one gets a predicate, spanned at the user's
/// type; so do the function's own type parameters (`'static`), which the
/// function item moved to the isolate carries even when only a bound
/// mentions them.
fn generic_bounds(model: &Model<'_>, krate: &TokenStream) -> Vec<WherePredicate> {
    let private = quote!(#krate::__private);
    let known = |ty: &Type| mentions_generics(ty, &model.generics, model.self_is_generic);
    // An `impl` block without parameters, read from the source file: `Self`
    // is one concrete type, so its types need no bound for the call, and
    // the spawn call's turbofish reports one that cannot cross threads (a
    // `self` holding an `Rc`) at the definition, as with the attribute on
    // the block.
    let concrete_impl =
        matches!(&model.place, Some(Place::InherentImpl(params)) if params.is_empty());
    let impl_unseen = model.impl_unseen && !concrete_impl;
    // The block's own parameters when its source file names them; otherwise
    // any type that could be one.
    let may_name_parameter = |ty: &Type| match &model.place {
        Some(Place::InherentImpl(params)) => names_impl_parameter(ty, params),
        _ => may_name_impl_parameter(ty),
    };
    let generic = |ty: &Type| {
        !contains_impl_trait(ty) && (known(ty) || (impl_unseen && may_name_parameter(ty)))
    };
    // A type that only may name a parameter of the unseen `impl` block gets
    // its bound under an empty `for<..>`: rustc checks such a predicate where
    // the sibling is called, never as a "trivial bound" at the definition,
    // which would report `Send` on the attribute instead of the crate's
    // message at the call.
    let bound = |ty: &Type, span: Span, trait_path: TokenStream| -> WherePredicate {
        // The whole predicate at the user's token, so that a note such as
        // "requirement introduced here" points there.
        let trait_path = respan(trait_path, span);
        if impl_unseen && !known(ty) {
            syn::parse_quote_spanned!(span=> for<'__isolate> #ty: #trait_path)
        } else {
            syn::parse_quote_spanned!(span=> #ty: #trait_path)
        }
    };
    let arg_bound = quote!(#private::IsolateArg);
    let return_bound = quote!(#private::IsolateReturn);
    let message_bound = quote!(#krate::Message);
    let mut predicates: Vec<WherePredicate> = Vec::new();
    let mut message_types: Vec<&Type> = Vec::new();
    for param in model.func.sig.generics.type_params() {
        let ident = &param.ident;
        predicates.push(syn::parse_quote_spanned!(ident.span()=> #ident: 'static));
    }
    if impl_unseen || model.self_is_generic {
        // The function item moved to the isolate names `Self`'s parameters,
        // lifetimes included.
        let span = model
            .receiver
            .map_or_else(|| model.func.sig.ident.span(), Spanned::span);
        let self_ty: Type = syn::parse_quote_spanned!(span=> Self);
        predicates.push(bound(&self_ty, span, quote!('static)));
    }
    if let Some(receiver) = model.receiver {
        if (model.self_is_generic || impl_unseen) && receiver.reference.is_none() {
            // `self` stands for a `Self` that syn spans at the attribute.
            let ty: Type = if receiver.colon_token.is_some() {
                (*receiver.ty).clone()
            } else {
                syn::parse_quote_spanned!(receiver.span()=> Self)
            };
            predicates.push(bound(&ty, receiver.span(), arg_bound.clone()));
        }
    }
    for arg in &model.args {
        match arg.supplied {
            Some(Supplied::Progress(update)) => message_types.push(update),
            Some(Supplied::Port(inbox, outbox)) => message_types.extend([inbox, outbox]),
            None if generic(arg.ty) => {
                predicates.push(bound(arg.ty, arg.ty.span(), arg_bound.clone()));
            }
            None => {}
        }
    }
    for ty in message_types.into_iter().filter(|ty| generic(ty)) {
        predicates.push(bound(ty, ty.span(), message_bound.clone()));
    }
    match &model.output {
        Output::Plain(ty) if generic(ty) => {
            predicates.push(bound(ty, ty.span(), return_bound.clone()));
        }
        // No `#ty: FoldResult` predicate: a where clause would hide the impl
        // and keep `<Result<T, E> as FoldResult>::Ok` from normalizing to `T`.
        Output::Folded {
            shape: ResultShape::Explicit { ok, err },
            ..
        } => {
            for part in [*ok, *err] {
                if generic(part) {
                    predicates.push(bound(part, part.span(), return_bound.clone()));
                }
            }
        }
        Output::Folded { ty, .. } if generic(ty) => {
            for assoc in [quote!(Ok), quote!(Err)] {
                let projected: Type = syn::parse_quote_spanned!(ty.span()=>
                    <#ty as #private::FoldResult>::#assoc);
                let mut predicate = bound(ty, ty.span(), return_bound.clone());
                if let WherePredicate::Type(predicate) = &mut predicate {
                    predicate.bounded_ty = projected;
                }
                predicates.push(predicate);
            }
        }
        _ => {}
    }
    predicates
}

// Input:  `fn generic<T: Clone>(x: T) where Vec<T>: Debug`, and the bounds
//         `T: 'static`, `T: IsolateArg`, `Vec<T>: IsolateReturn`
// Output: `<T: Clone + 'static + IsolateArg> where Vec<T>: Debug + IsolateReturn`
/// Adds the sibling's bounds beside the user's own: a bound on one of the
/// function's type parameters with inline bounds joins them, and any other
/// joins the `where` predicate of the same type, so that the sibling states
/// each type's bounds in one place (clippy's `multiple_bound_locations` and
/// `type_repetition_in_bounds` read the generated code as the user's).
fn add_bounds(generics: &mut syn::Generics, added: Vec<WherePredicate>) {
    fn join(
        bounds: &mut syn::punctuated::Punctuated<syn::TypeParamBound, syn::Token![+]>,
        more: syn::punctuated::Punctuated<syn::TypeParamBound, syn::Token![+]>,
    ) {
        for bound in more {
            let text = bound.to_token_stream().to_string();
            if !bounds
                .iter()
                .any(|existing| existing.to_token_stream().to_string() == text)
            {
                bounds.push(bound);
            }
        }
    }
    let key = |predicate: &syn::PredicateType| {
        (
            predicate.lifetimes.to_token_stream().to_string(),
            predicate.bounded_ty.to_token_stream().to_string(),
        )
    };
    for predicate in added {
        let WherePredicate::Type(predicate) = predicate else {
            generics.make_where_clause().predicates.push(predicate);
            continue;
        };
        let param = match (&predicate.lifetimes, &predicate.bounded_ty) {
            (None, Type::Path(path)) if path.qself.is_none() => path.path.get_ident().cloned(),
            _ => None,
        };
        if let Some(param) = generics
            .type_params_mut()
            .find(|p| Some(&p.ident) == param.as_ref() && !p.bounds.is_empty())
        {
            join(&mut param.bounds, predicate.bounds);
            continue;
        }
        let wanted = key(&predicate);
        let where_clause = generics.make_where_clause();
        let existing = where_clause
            .predicates
            .iter_mut()
            .find_map(|existing| match existing {
                WherePredicate::Type(existing) if key(existing) == wanted => Some(existing),
                _ => None,
            });
        match existing {
            Some(existing) => join(&mut existing.bounds, predicate.bounds),
            None => where_clause
                .predicates
                .push(WherePredicate::Type(predicate)),
        }
    }
}

/// `tokens` with every span set to `span`.
pub(crate) fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tree| {
            if let proc_macro2::TokenTree::Group(group) = &tree {
                let mut inner =
                    proc_macro2::Group::new(group.delimiter(), respan(group.stream(), span));
                inner.set_span(span);
                tree = proc_macro2::TokenTree::Group(inner);
            } else {
                tree.set_span(span);
            }
            tree
        })
        .collect()
}

/// The wrapper's body: an inner, fully generic spawn function, called with
/// the user's types in its turbofish.
fn spawn_body(
    model: &Model<'_>,
    options: &Options,
    krate: &TokenStream,
    return_turbofish: TokenStream,
) -> TokenStream {
    let private = quote!(#krate::__private);
    let sig = model.func.sig;
    let ident = &sig.ident;
    let site = Span::mixed_site();

    let name = match &options.name {
        Some(name) => name.clone(),
        None => LitStr::new(&ident.to_string(), ident.span()),
    };
    let mut builder = quote!(#krate::Builder::new().name(#name));
    if options.dedicated.is_some() {
        builder.extend(quote!(.dedicated()));
    }
    if let Some(stack_size) = &options.stack_size {
        builder.extend(quote_spanned!(stack_size.span()=> .stack_size(#stack_size)));
    }
    if let Some(timeout) = &options.timeout {
        builder.extend(quote_spanned!(timeout.span()=> .timeout(#timeout)));
    }

    // One generic parameter and one value per thing moved to the isolate:
    // the receiver first, then the arguments.
    let mut arg_types: Vec<TokenStream> = Vec::new();
    let mut arg_values: Vec<TokenStream> = Vec::new();
    if let Some(receiver) = model.receiver {
        let ty = &receiver.ty;
        arg_types.push(quote_spanned!(receiver.span()=> #ty));
        arg_values.push(quote_spanned!(receiver.span()=> self));
    }
    for arg in model.args.iter().filter(|arg| arg.supplied.is_none()) {
        arg_types.push(turbofish_type(arg.ty));
        let name = &arg.name;
        arg_values.push(quote!(#name));
    }
    let params: Vec<_> = (0..arg_types.len())
        .map(|i| format_ident!("A{}", i, span = site))
        .collect();
    let values: Vec<_> = (0..arg_types.len())
        .map(|i| format_ident!("a{}", i, span = site))
        .collect();
    // The function's own type and const parameters are passed through, so
    // that a turbofish on the sibling reaches a parameter no argument names
    // (impossible, and not needed, beside an `impl Trait` argument).
    let passed: Vec<&Ident> = type_and_const_params(&sig.generics).collect();
    let impl_trait_argument = model.args.iter().any(|arg| contains_impl_trait(arg.ty));
    let turbofish = (!passed.is_empty() && !impl_trait_argument).then(|| quote!(::<#(#passed),*>));
    let callee = if model.in_impl {
        quote!(Self::#ident #turbofish)
    } else {
        quote!(#ident #turbofish)
    };
    let supplied_arg = model
        .args
        .iter()
        .find_map(|arg| Some((arg.ty, arg.supplied?)));
    let entry = Entry::of(supplied_arg, krate);
    let folded = matches!(model.output, Output::Folded { .. });
    let spawn = format_ident!("__spawn", span = site);
    let given = format_ident!("supplied", span = site);

    // The receiver (if any) comes first, then the arguments in the user's
    // order, with the supplied parameter at its own place among them.
    let mut f_params = Vec::new();
    let mut f_values = Vec::new();
    let mut moved = params.iter().zip(&values);
    if model.receiver.is_some() {
        if let Some((param, value)) = moved.next() {
            f_params.push(quote!(#param));
            f_values.push(quote!(#value));
        }
    }
    for arg in &model.args {
        if arg.supplied.is_some() {
            f_params.push(entry.supplied_type.clone());
            f_values.push(quote!(<S as #private::Supplied>::from_given(#given)));
        } else if let Some((param, value)) = moved.next() {
            f_params.push(quote!(#param));
            f_values.push(quote!(#value));
        }
    }

    // What is run is data: a closure over the moved values, made async by
    // `Async` and folded by `Fold` (see the runtime's `Body`); the entry
    // point only says what the isolate is given.
    let (fut_param, fut_turbofish, f_output) = if model.is_async() {
        (
            quote!(Fut: ::core::future::Future<Output = R> + 'static,),
            quote!(, _),
            quote!(Fut),
        )
    } else {
        (quote!(), quote!(), quote!(R))
    };
    let call = quote!(f(#(#f_values),*));
    let value = match (folded, model.is_async()) {
        (false, _) => call,
        (true, false) => quote!(#private::FoldResult::into_result(#call)),
        (true, true) => quote!({
            let future = #call;
            async move { #private::FoldResult::into_result(future.await) }
        }),
    };
    let closure_params = entry.supplied.then(|| quote!(#given));
    let mut body = quote!(move |#closure_params| #value);
    if model.is_async() {
        body = quote!(#krate::Async(#body));
    }
    if folded {
        body = quote!(#krate::Fold(#body));
    }
    let method = &entry.method;
    let (message_params, message_turbofish, handle_type) = (
        &entry.message_params,
        &entry.message_turbofish,
        &entry.handle_type,
    );
    let (return_bounds, handle, fold_bounds) = if folded {
        (
            quote!(R: #private::FoldResult),
            quote!(#handle_type <R as #private::FoldResult>::Ok, <R as #private::FoldResult>::Err>),
            quote!(
                <R as #private::FoldResult>::Ok: #private::IsolateReturn,
                <R as #private::FoldResult>::Err: #private::IsolateReturn,
            ),
        )
    } else {
        (
            quote!(R: #private::IsolateReturn),
            quote!(#handle_type R>),
            quote!(),
        )
    };

    let inner = quote! {
        #[allow(clippy::too_many_arguments, clippy::type_complexity)]
        fn #spawn<#(#params: #private::IsolateArg,)* #message_params #return_bounds, #fut_param F>(
            builder: #krate::Builder,
            #(#values: #params,)*
            f: F,
        ) -> #handle
        where
            F: ::core::ops::FnOnce(#(#f_params),*) -> #f_output + ::core::marker::Send + 'static,
            #fold_bounds
        {
            builder.#method(#body)
        }
    };
    // The call of a plain isolate is spanned at the function's name: a
    // region error (a lifetime hidden in an argument's path,
    // `std::str::Chars`) lands there, beside the parameter it names, instead
    // of on the attribute. Not when folding: a return type that is not a
    // `Result` would be reported there a second time.
    let call_span = if folded || entry.supplied {
        site
    } else {
        ident.span()
    };
    let spawn_at_call = format_ident!("__spawn", span = call_span);
    let call = quote_spanned! {call_span=>
        #spawn_at_call::<#(#arg_types,)* #message_turbofish #return_turbofish #fut_turbofish, _>(#builder, #(#arg_values,)* #callee)
    };
    quote!(#inner #call)
}

/// Where an isolate is started, as data: the `Builder` method, what the
/// isolate is given (nothing, a `Progress<P>`, a `Port<In, Out>`), its
/// message types and the handle it returns.
struct Entry {
    method: syn::Ident,
    /// Whether the body takes a supplied parameter.
    supplied: bool,
    supplied_type: TokenStream,
    message_params: TokenStream,
    message_turbofish: TokenStream,
    /// The handle's path up to its value and error types (`Worker<In, Out,`).
    handle_type: TokenStream,
}

// Input:  a `Progress<usize>` parameter
// Output: Entry { method: run_with_progress, supplied_type: S,
//                 message_params: `P: Message, S: Supplied<Given = Progress<P>>,`,
//                 message_turbofish: `usize, Progress<usize>,`,
//                 handle_type: `ProgressHandle<P,` }
// The parameter's type as written is `S`, so that a type of the user's
// that only ends in `Progress` is reported at it, in the words of the
// `Supplied` trait, which only the runtime's own types implement.
impl Entry {
    fn of(supplied: Option<(&Type, Supplied<'_>)>, krate: &TokenStream) -> Self {
        let site = Span::mixed_site();
        let private = quote!(#krate::__private);
        let written = supplied.map(|(ty, _)| turbofish_type(ty));
        match supplied.map(|(_, supplied)| supplied) {
            None => Entry {
                method: syn::Ident::new("run", site),
                supplied: false,
                supplied_type: quote!(),
                message_params: quote!(),
                message_turbofish: quote!(),
                handle_type: quote!(#krate::IsolateHandle<),
            },
            Some(Supplied::Progress(update)) => {
                let update = turbofish_type(update);
                Entry {
                    method: syn::Ident::new("run_with_progress", site),
                    supplied: true,
                    supplied_type: quote!(S),
                    message_params: quote!(
                        P: #krate::Message,
                        S: #private::Supplied<Given = #krate::Progress<P>>,
                    ),
                    message_turbofish: quote!(#update, #written,),
                    handle_type: quote!(#krate::ProgressHandle<P,),
                }
            }
            Some(Supplied::Port(inbox, outbox)) => {
                let (inbox, outbox) = (turbofish_type(inbox), turbofish_type(outbox));
                Entry {
                    method: syn::Ident::new("spawn", site),
                    supplied: true,
                    supplied_type: quote!(S),
                    message_params: quote!(
                        In: #krate::Message,
                        Out: #krate::Message,
                        S: #private::Supplied<Given = #krate::Port<In, Out>>,
                    ),
                    message_turbofish: quote!(#inbox, #outbox, #written,),
                    handle_type: quote!(#krate::Worker<In, Out,),
                }
            }
        }
    }
}
